"""Persistent peer identities: an Ed25519 seed on disk (0600), so a restarted peer keeps its id."""

from __future__ import annotations

import os
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair


def load_or_create_key_pair(path: Path) -> KeyPair:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        seed = os.urandom(32)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(seed)
        os.replace(path.with_suffix(".tmp"), path)
    return create_new_key_pair(path.read_bytes())
