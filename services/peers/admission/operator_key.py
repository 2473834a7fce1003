"""The operator's signing key (Ed25519). Its public half is all a peer needs; the private half
stays with whoever issues credentials (`pulseledger operator`), never with a peer process."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.runtime.durable_files import create_secret


def load_or_create_operator_key(path: Path) -> Ed25519PrivateKey:
    """A 32-byte seed in a 0600 file, created once."""
    if not path.exists():  # on disk before any credential is signed with it
        create_secret(path, os.urandom(32))
    return Ed25519PrivateKey.from_private_bytes(path.read_bytes())


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
