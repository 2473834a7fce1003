"""A wearable's identity: an Ed25519 key whose libp2p-style peer id is the reading's userId.

The peer id is computed here (identity multihash of the protobuf-encoded public key, base58btc),
the same bytes libp2p's `ID.from_pubkey` produces, so ingest needs no libp2p import.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# protobuf PublicKey{Type: Ed25519 (1), Data: 32 bytes}
_ED25519_PROTO_PREFIX = bytes([0x08, 0x01, 0x12, 0x20])
_IDENTITY_MULTIHASH = 0x00
# A master checks every message's key against its sender's peer id: pure functions of the key,
# remembered for as many devices as a busy master sees (pure-Python base58 was ≈3% of its CPU).
_KEYS_REMEMBERED = 65_536


def peer_id_for(public_key: bytes) -> str:
    """The libp2p peer id (`12D3KooW...`) of a raw 32-byte Ed25519 public key."""
    return _peer_id(bytes(public_key))


@lru_cache(maxsize=_KEYS_REMEMBERED)
def _peer_id(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    encoded = _ED25519_PROTO_PREFIX + public_key
    return base58.b58encode(bytes([_IDENTITY_MULTIHASH, len(encoded)]) + encoded).decode()


@dataclass(frozen=True)
class DeviceKey:
    """A device's signing key (the simulator holds these; real devices keep theirs)."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> DeviceKey:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def user_id(self) -> str:
        return peer_id_for(self.public_bytes)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@lru_cache(maxsize=_KEYS_REMEMBERED)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        _public_key(bytes(public_key)).verify(signature, message)
    except Exception:  # InvalidSignature or a malformed key: both mean "not signed by this device"  # noqa: BLE001
        return False
    return True
