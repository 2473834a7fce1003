"""A wearable's identity: an Ed25519 key whose libp2p-style peer id is the reading's userId.

The peer id is computed here (identity multihash of the protobuf-encoded public key, base58btc),
the same bytes libp2p's `ID.from_pubkey` produces, so ingest needs no libp2p import.

Signatures are verified with libsodium (PyNaCl), not OpenSSL (`cryptography`), for two reasons
measured on 2026-12-06 (docs/decisions/2026-12-06-device-signatures-libsodium.md):
- OpenSSL accepts a universal forgery under a small-order public key (the identity point, with
  the signature R = identity, S = 0, verifies for every message): whoever registers such a key
  for a device would let anyone write that device's readings. libsodium refuses small-order
  keys and R, and non-canonical encodings; what an honest device signs verifies under both.
- libsodium verifies in about half of OpenSSL's time here, and a master verifies one signature
  per queue message (benchmarks/validation.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import CryptoError

ED25519_KEY_BYTES, ED25519_SIGNATURE_BYTES = 32, 64

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


def usable_public_key(public_key: bytes) -> bool:
    """A key a real device has: a canonical point of Ed25519's prime-order subgroup (what every
    key generator makes). Pairing refuses the rest, so the patient learns why at once: bytes
    that are no point and small-order keys never verify (`verify`), and a point with a
    small-order part is no generated key."""
    return (isinstance(public_key, bytes | bytearray) and len(public_key) == ED25519_KEY_BYTES
            and crypto_core_ed25519_is_valid_point(bytes(public_key)))


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The device's key signed `message` (libsodium's strict Ed25519: see the module docstring).
    A malformed key or signature is "not signed by this device", never an error."""
    try:
        if len(public_key) != ED25519_KEY_BYTES or len(signature) != ED25519_SIGNATURE_BYTES:
            return False
        crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (CryptoError, ValueError, TypeError):  # BadSignatureError is a CryptoError
        return False
    return True
