"""Health data sealed at rest (AES-256-GCM) in a process's own SQLite files: the local ingest
queue's messages (services/ingest/queues/local.py) and the aggregators' open windows
(services/peers/window_store.py). SQLite keeps what it is given in its file and its WAL; sealing
protects both when they are copied or backed up without the key.

The key is a file beside the database, `<db>.key` (0600), created by whoever opens it first.
Keep it on another volume (a symlink) for the seal to mean anything against a copied disk.
Each use has its own format tag (a value that is never the first bytes of what it stored before
sealing, so older plaintext is recognised and read as it is), and binds each value to its row
with associated data, so a sealed value copied into another row does not open."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.runtime.durable_files import create_secret

NONCE = 12


def key_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".key")


def load_or_create_key(path: Path) -> bytes:
    """32 random bytes, created at most once even when processes race, and on disk before
    anything is sealed with it (durable_files.create_secret)."""
    if not path.exists():
        create_secret(path, os.urandom(32))
    return path.read_bytes()


class Seal:
    def __init__(self, key: bytes, tag: bytes):
        """`tag`: this use's format marker, written before every sealed value."""
        self._aead = AESGCM(key)
        self._tag = tag

    @classmethod
    def beside(cls, db_path: Path, tag: bytes) -> Seal:
        """The seal of the database at `db_path`, its key file created on first use."""
        return cls(load_or_create_key(key_path(db_path)), tag)

    def seal(self, plaintext: bytes, row: bytes = b"") -> bytes:
        """`row`: what identifies the value's row (associated data, not stored)."""
        nonce = os.urandom(NONCE)
        return self._tag + nonce + self._aead.encrypt(nonce, bytes(plaintext), self._tag + row)

    def text_opener(self):
        """`open(stored, row.encode()).decode()` as one function for a loop over many values (a
        window's readings: ~1 µs less each than the method and the conversions around it)."""
        tag, start, decrypt = self._tag, len(self._tag), self._aead.decrypt

        def opened(stored: bytes, row: str) -> str:
            if type(stored) is not bytes:
                stored = bytes(stored)
            if not stored.startswith(tag):
                return stored.decode()  # written before sealing
            return decrypt(stored[start:start + NONCE], stored[start + NONCE:],
                           tag + row.encode()).decode()

        return opened

    def open(self, stored: bytes, row: bytes = b"") -> bytes:
        stored = bytes(stored)
        if not stored.startswith(self._tag):
            return stored  # written before sealing
        start = len(self._tag)
        return self._aead.decrypt(stored[start:start + NONCE], stored[start + NONCE:],
                                  self._tag + row)
