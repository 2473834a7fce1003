"""One suite, two backends: every test taking `make_store`/`store` runs on SQLite and on the
official Firestore emulator (started once per session on 127.0.0.1, torn down at the end)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from records_support import PROJECT, fresh_chain

from services.records import ChainIdentity, RecordStore
from services.records.firestore_emulator import FirestoreEmulator, start_emulator
from services.records.firestore_store import FirestoreRecordStore, make_client
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    emulator = start_emulator()
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    try:
        yield emulator
    finally:
        emulator.stop()
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


StoreFactory = Callable[..., RecordStore]


@pytest.fixture(params=["sqlite", "firestore"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(backend: str, request, tmp_path: Path) -> Iterator[StoreFactory]:
    opened: list[RecordStore] = []
    master = os.urandom(32)

    def factory(
        chain: ChainIdentity | None = None,
        keyring: Keyring | None = None,
    ) -> RecordStore:
        chain = chain or factory.default_chain
        keyring = keyring or Keyring(master)
        if backend == "sqlite":
            store: RecordStore = SqliteRecordStore(
                tmp_path / "records", chain, keyring, poll_interval_s=0.02
            )
        else:
            emulator = request.getfixturevalue("firestore_emulator")
            client = make_client(PROJECT, "(default)", emulator.host)
            store = FirestoreRecordStore(client, chain, keyring)
        opened.append(store)
        return store

    factory.default_chain = fresh_chain()
    factory.master = master
    factory.backend = backend
    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> RecordStore:
    return make_store()
