"""The local queue's bodies sealed at rest (AES-256-GCM): a queue message is a device's signed
readings — heart rates — and SQLite keeps them in its file and its WAL until they are
completed (and dead-lettered ones for good). The key is a file beside the queue, `<queue>.key`
(0600), created by whoever opens the queue first; every writer (simulator, device endpoint) and
reader (masters) on the machine uses it. It protects the queue file and its WAL when they are
copied or backed up without the key; put the key on another volume (a symlink) to make that so.
Bodies written before sealing existed are read as they are."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"\x00PLQ1"  # never the first bytes of a JSON message
NONCE = 12


def key_path(queue_path: Path) -> Path:
    return queue_path.with_name(queue_path.name + ".key")


def load_or_create_key(path: Path) -> bytes:
    """32 random bytes, created at most once even when processes race (link is atomic)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won: use its key
        finally:
            temporary.unlink()
    return path.read_bytes()


class Seal:
    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def seal(self, body: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, bytes(body), MAGIC)

    def open(self, stored: bytes) -> bytes:
        stored = bytes(stored)
        if not stored.startswith(MAGIC):
            return stored  # from before sealing
        nonce = stored[len(MAGIC):len(MAGIC) + NONCE]
        return self._aead.decrypt(nonce, stored[len(MAGIC) + NONCE:], MAGIC)
