"""ECIES to a secp256k1 public key: how a programmatic buyer receives a record key.

Format (all bytes, then hex-encoded in JSON as "0x..."):
    ephemeral_public_key (65 bytes, uncompressed SEC1: 0x04 || X || Y)
    || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
Key derivation: shared = ECDH(ephemeral_private, recipient_public) (the X coordinate, 32 bytes);
aes_key = HKDF-SHA256(shared, salt = empty, info = b"pulseledger-ecies-v1" || ephemeral_public_key,
length 32). The GCM associated data is the `context` the caller passes (for record keys: the
record id, 32 bytes), so a wrapped key cannot be presented as another record's key.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"pulseledger-ecies-v1"
_POINT = 65
_NONCE = 12


def public_key_from_bytes(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Accepts 65-byte SEC1 uncompressed, 33-byte compressed, or 64-byte X||Y (Ethereum style)."""
    if len(raw) == 64:
        raw = b"\x04" + raw
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw)


def wrap(recipient: ec.EllipticCurvePublicKey, plaintext: bytes, context: bytes = b"") -> bytes:
    ephemeral = ec.generate_private_key(ec.SECP256K1())
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    key = _derive(ephemeral.exchange(ec.ECDH(), recipient), ephemeral_public)
    nonce = os.urandom(_NONCE)
    return ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unwrap(recipient: ec.EllipticCurvePrivateKey, blob: bytes, context: bytes = b"") -> bytes:
    """The buyer's side (documented here so any client can reimplement it)."""
    ephemeral_public, nonce, sealed = blob[:_POINT], blob[_POINT:_POINT + _NONCE], blob[_POINT + _NONCE:]
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), ephemeral_public)
    key = _derive(recipient.exchange(ec.ECDH(), sender), ephemeral_public)
    return AESGCM(key).decrypt(nonce, sealed, context)


def private_key_from_eth(private_key: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256K1())


def _derive(shared: bytes, ephemeral_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=INFO + ephemeral_public).derive(shared)
