"""A SQLite record store from before retired letters were kept (no `retired_ms` column):
opening it adds the column, its letters stay listed, and one can be retired."""

from __future__ import annotations

import os
import sqlite3

from records_support import fresh_chain

from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore


def test_sqlite_store_from_before_retirements__upgraded_in_place(tmp_path):
    chain, keyring = fresh_chain(), Keyring(os.urandom(32))
    first = SqliteRecordStore(tmp_path / "records", chain, keyring)
    kept = first.dead_letter("reading", b"kept", "late")
    first.dead_letter("reading", b"late one", "late")
    db_path = first.tables.db_path
    first.close()
    db = sqlite3.connect(db_path)
    db.executescript("DROP INDEX dead_letters_retired; "
                     "ALTER TABLE dead_letters DROP COLUMN retired_ms;")
    db.close()
    store = SqliteRecordStore(tmp_path / "records", chain, keyring)
    try:
        columns = {r[1] for r in store.tables.connection.execute("PRAGMA table_info(dead_letters)")}
        assert "retired_ms" in columns
        assert len(store.dead_letters("reading")) == 2
        assert store.retire_dead_letter("reading", b"late one", "late") is True
        store.dead_letter("reading", b"late one", "late")
        assert [d.id for d in store.dead_letters()] == [kept]
    finally:
        store.close()
