"""ECIES wrapping, session tokens and peer ids, without a server."""

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from eth_account import Account

from services.gateway import ecies
from services.gateway.errors import Unauthorized
from services.gateway.peer_id import ed25519_peer_id
from services.gateway.sessions import SessionSigner


def test_ecies__round_trip_with_an_ethereum_key__and_context_binds():
    buyer = Account.create()
    public = ecies.public_key_from_bytes(buyer._key_obj.public_key.to_bytes())  # 64 bytes X||Y
    wrapped = ecies.wrap(public, b"k" * 32, context=b"record-1")
    private = ecies.private_key_from_eth(buyer.key)
    assert ecies.unwrap(private, wrapped, context=b"record-1") == b"k" * 32
    with pytest.raises(InvalidTag):
        ecies.unwrap(private, wrapped, context=b"record-2")
    with pytest.raises(InvalidTag):
        ecies.unwrap(ecies.private_key_from_eth(Account.create().key), wrapped, b"record-1")
    assert len(wrapped) == 65 + 12 + 32 + 16


def test_sessions__issue_verify_tamper_expire():
    signer = SessionSigner(b"secret", ttl_s=60)
    address = Account.create().address
    token, _ = signer.issue(address)
    assert signer.verify(token) == address
    payload, mac = token.split(".")
    with pytest.raises(Unauthorized, match="signature"):
        signer.verify(payload + "." + ("A" if mac[0] != "A" else "B") + mac[1:])
    with pytest.raises(Unauthorized):
        SessionSigner(b"other", ttl_s=60).verify(token)
    expired, _ = SessionSigner(b"secret", ttl_s=-1).issue(address)
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify(expired)
    for junk in ("", "a.b.c", "x" * 600, "!!!.???"):
        with pytest.raises(Unauthorized):
            signer.verify(junk)


def test_peer_id__matches_libp2p_for_ed25519():
    """Cross-checked with py-libp2p's own derivation of an Ed25519 peer id."""
    from libp2p.crypto.ed25519 import Ed25519PublicKey
    from libp2p.peer.id import ID

    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = ID.from_pubkey(Ed25519PublicKey.from_bytes(key)).to_base58()
    assert ed25519_peer_id(key) == expected
    assert expected.startswith("12D3KooW")
