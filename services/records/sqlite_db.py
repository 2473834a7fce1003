"""SQLite for the record store: the shared connection (services.runtime.sqlite_helpers) with
`secure_delete`, and the TRUNCATE checkpoint erasure relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.records.base import RecordsError
from services.runtime.sqlite_helpers import BUSY_TIMEOUT_S
from services.runtime.sqlite_helpers import connect as runtime_connect

# Pages one connection may cache (KiB when negative, SQLite's convention): a 1,000-window bundle
# is ~2.7 MB, more than SQLite's default 2 MB cache, so every buyer read went back to the file for
# all of its overflow pages (3.7 ms a read measured; 0.6 ms with the pages cached).
CACHE_KIB = 64 * 1024


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """The shared connection, with deleted rows overwritten (erasure must leave no copy) and a
    page cache that holds a large bundle."""
    conn = runtime_connect(path, synchronous, secure_delete=True)
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


def checkpoint_truncate(conn: sqlite3.Connection, wait_s: float = 5.0) -> None:
    """Copy the WAL into the database and truncate it to zero bytes, so deleted rows leave no
    copy in the log. Another process's open read transaction blocks it: SQLite's busy handler
    waits up to `wait_s` for it to end."""
    conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
    try:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    if busy:
        raise RecordsError(
            "deleted, but the write-ahead log could not be truncated: another process holds "
            "a read transaction; the next erase or checkpoint completes it"
        )
