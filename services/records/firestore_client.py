"""A Firestore client for the record store, optionally pointed at an emulator."""

from __future__ import annotations

import os
import threading

from google.cloud import firestore

_env_lock = threading.Lock()


def make_client(project: str, database: str, emulator_host: str | None) -> firestore.Client:
    """A client; `emulator_host` applies to this client only (the library reads the env var
    once, in the constructor)."""
    if emulator_host is None:
        return firestore.Client(project=project, database=database)
    with _env_lock:
        previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host
        try:
            return firestore.Client(project=project, database=database)
        finally:
            if previous is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = previous
