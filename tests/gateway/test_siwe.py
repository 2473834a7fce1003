"""EIP-4361 checks and single-use nonces, without a server (conformance vectors:
test_siwe_vectors.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from services.gateway.errors import BadRequest, Unauthorized
from services.gateway.nonces import NonceBook
from services.gateway.shared_state import MemoryState
from services.gateway.siwe import build_message, parse_message, verify_sign_in

DOMAIN, URI, CHAIN = "localhost:8600", "http://localhost:8600", 31337


def _book(ttl_s=60, state=None):
    return NonceBook([b"test-secret"], ttl_s, state or MemoryState())


def _signed(account, nonce, **overrides):
    fields = {"domain": DOMAIN, "address": account.address, "uri": URI, "chain_id": CHAIN, "nonce": nonce,
                  "statement": "Sign in to PulseLedger."}
    fields.update(overrides)
    text = build_message(**fields)
    return text, account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()


def _verify(text, signature, nonces):
    return verify_sign_in(text, signature, domain=DOMAIN, uri=URI, chain_id=CHAIN, nonces=nonces)


def test_sign_in__valid__returns_the_signer_and_burns_the_nonce():
    account, nonces = Account.create(), _book()
    text, signature = _signed(account, nonces.issue())
    assert _verify(text, signature, nonces) == account.address
    with pytest.raises(Unauthorized, match="already used"):
        _verify(text, signature, nonces)


@pytest.mark.parametrize("override, reason", [
    ({"domain": "evil.example"}, "domain"),
    ({"uri": "http://evil.example"}, "URI"),
    ({"chain_id": 1}, "chain id"),
    ({"expiration_time": datetime.now(UTC) - timedelta(seconds=1)}, "expired"),
    ({"issued_at": datetime.now(UTC) + timedelta(hours=1)}, "future"),
])
def test_sign_in__wrong_field__refused_with_reason(override, reason):
    account, nonces = Account.create(), _book()
    text, signature = _signed(account, nonces.issue(), **override)
    with pytest.raises(Unauthorized, match=reason):
        _verify(text, signature, nonces)


def test_sign_in__signed_by_someone_else__refused_and_nonce_kept():
    account, other, nonces = Account.create(), Account.create(), _book()
    nonce = nonces.issue()
    text, _ = _signed(account, nonce)
    forged = other.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    with pytest.raises(Unauthorized, match="not by the message's address"):
        _verify(text, forged, nonces)
    assert _verify(text, account.sign_message(encode_defunct(text=text)).signature.to_0x_hex(),
                   nonces) == account.address


def test_nonce__unknown_forged_or_expired__refused():
    nonces = _book(ttl_s=0)
    expired = nonces.issue()
    with pytest.raises(Unauthorized, match="expired"):
        nonces.consume(expired)
    with pytest.raises(Unauthorized, match="unknown"):
        nonces.consume("deadbeefdeadbeef")
    issued = _book().issue()
    forged = issued[:26] + ("0" if issued[26] != "0" else "1") + issued[27:]  # random part
    with pytest.raises(Unauthorized, match="unknown"):
        _book().consume(forged)
    with pytest.raises(Unauthorized, match="unknown"):  # another gateway's secret
        NonceBook([b"other-secret"], 60, MemoryState()).consume(issued)


def test_nonce_book__a_flood_of_issued_nonces__keeps_every_pending_one_valid():
    """Issuing stores nothing, so no number of requests can push an honest nonce out."""
    state = MemoryState()
    nonces = NonceBook([b"test-secret"], 60, state)
    honest = nonces.issue()
    for _ in range(200_000):
        nonces.issue()
    nonces.consume(honest)
    with pytest.raises(Unauthorized, match="already used"):
        nonces.consume(honest)


def test_nonce_book__rotation__old_secret_still_accepted():
    old = NonceBook([b"old"], 60, MemoryState()).issue()
    state = MemoryState()
    NonceBook([b"new", b"old"], 60, state).consume(old)
    with pytest.raises(Unauthorized):
        NonceBook([b"new"], 60, MemoryState()).consume(old)


@pytest.mark.parametrize("text", ["", "hello", "x" * 5000,
                                  "a wants you to sign in with your Ethereum account:\n0x12\n"])
def test_parse__not_eip4361__bad_request(text):
    with pytest.raises(BadRequest):
        parse_message(text)


def test_parse__lowercase_address__refused_as_not_checksummed():
    account = Account.create()
    text = build_message(domain=DOMAIN, address=account.address, uri=URI, chain_id=CHAIN,
                         nonce="abcdef0123456789").replace(account.address,
                                                           account.address.lower())
    with pytest.raises(BadRequest, match="address"):
        parse_message(text)


def test_parse__not_canonical__refused():
    """What is checked must be exactly what was signed: no trailing newline, no extra lines."""
    text = build_message(domain=DOMAIN, address=Account.create().address, uri=URI,
                         chain_id=CHAIN, nonce="abcdef0123456789")
    parse_message(text)
    for variant in (text + "\n", text.replace("\nURI:", "\n\nURI:"), "\r\n".join(text.split("\n"))):
        with pytest.raises(BadRequest):
            parse_message(variant)
