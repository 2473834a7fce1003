"""Persistent peer identities: an Ed25519 seed on disk (0600), so a restarted peer keeps its id."""

from __future__ import annotations

import os
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair

from services.runtime.durable_files import create_secret


def load_or_create_key_pair(path: Path) -> KeyPair:
    if not path.exists():  # on disk before it is used: a crash must not change who we are
        create_secret(path, os.urandom(32))
    return create_new_key_pair(path.read_bytes())
