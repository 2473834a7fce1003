"""EIP-4361 parsing and checks, and single-use nonces, without a server."""

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from services.gateway.errors import BadRequest, Unauthorized
from services.gateway.siwe import NonceBook, build_message, parse_message, verify_sign_in

DOMAIN, URI, CHAIN = "localhost:8600", "http://localhost:8600", 31337


def _signed(account, nonce, **overrides):
    fields = {"domain": DOMAIN, "address": account.address, "uri": URI, "chain_id": CHAIN, "nonce": nonce,
                  "statement": "Sign in to PulseLedger."}
    fields.update(overrides)
    text = build_message(**fields)
    return text, account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()


def _verify(text, signature, nonces):
    return verify_sign_in(text, signature, domain=DOMAIN, uri=URI, chain_id=CHAIN, nonces=nonces)


def test_sign_in__valid__returns_the_signer_and_burns_the_nonce():
    account, nonces = Account.create(), NonceBook(60, 100)
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
    account, nonces = Account.create(), NonceBook(60, 100)
    text, signature = _signed(account, nonces.issue(), **override)
    with pytest.raises(Unauthorized, match=reason):
        _verify(text, signature, nonces)


def test_sign_in__signed_by_someone_else__refused_and_nonce_kept():
    account, other, nonces = Account.create(), Account.create(), NonceBook(60, 100)
    nonce = nonces.issue()
    text, _ = _signed(account, nonce)
    forged = other.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    with pytest.raises(Unauthorized, match="not by the message's address"):
        _verify(text, forged, nonces)
    assert _verify(text, account.sign_message(encode_defunct(text=text)).signature.to_0x_hex(),
                   nonces) == account.address


def test_nonce__unknown_or_expired__refused():
    nonces = NonceBook(0, 100)
    expired = nonces.issue()
    with pytest.raises(Unauthorized, match="expired"):
        nonces.consume(expired)
    with pytest.raises(Unauthorized, match="unknown"):
        nonces.consume("deadbeefdeadbeef")


def test_nonce_book__capacity__drops_the_oldest():
    nonces = NonceBook(60, 2)
    first, second, third = nonces.issue(), nonces.issue(), nonces.issue()
    with pytest.raises(Unauthorized):
        nonces.consume(first)
    nonces.consume(second)
    nonces.consume(third)


@pytest.mark.parametrize("text", ["", "hello", "x" * 5000,
                                  "a wants you to sign in with your Ethereum account:\n0x12\n"])
def test_parse__not_eip4361__bad_request(text):
    with pytest.raises(BadRequest):
        parse_message(text)


def test_parse__lowercase_address__refused_as_not_checksummed():
    account = Account.create()
    text = build_message(domain=DOMAIN, address=account.address.lower(), uri=URI, chain_id=CHAIN,
                         nonce="abcdef0123456789")
    with pytest.raises(BadRequest, match="checksummed"):
        parse_message(text)
