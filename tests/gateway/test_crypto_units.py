"""ECIES wrapping and peer ids, without a server (session tokens: test_sessions.py)."""

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from eth_account import Account

from services.gateway import ecies
from services.ingest.device_identity import peer_id_for


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


@pytest.mark.parametrize("key_hex, peer_id", [
    # Vectors printed by py-libp2p 0.8.1 (ID.from_pubkey(Ed25519PublicKey.from_bytes(key))); the
    # second key is the Ed25519 public key of the libp2p peer-ids specification's test vectors.
    ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "12D3KooW9pP4Seg3kZYhySpuVjn1RPdQBsUFZKiFxGMGQN5MeL6A"),
    ("1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
     "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"),
])
def test_peer_id__matches_libp2p_for_ed25519(key_hex, peer_id):
    assert peer_id_for(bytes.fromhex(key_hex)) == peer_id


def test_peer_id__wrong_key_length__refused():
    with pytest.raises(ValueError):
        peer_id_for(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw) + b"\0")
