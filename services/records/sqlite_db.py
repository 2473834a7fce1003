"""SQLite connections for the record store: WAL, `secure_delete`, a busy timeout for writers in
other processes, `BEGIN IMMEDIATE` transactions, and the TRUNCATE checkpoint erasure relies on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.records.base import RecordsError

BUSY_TIMEOUT_MS = 30_000  # writers from other processes wait this long for the lock


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    _enable_wal(conn)
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switching a new database to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, when another process is switching it at the same
    moment (two peers opening a fresh store). Retry until the busy timeout instead of failing."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taking the write lock up front (no upgrade deadlock)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def checkpoint_truncate(conn: sqlite3.Connection, wait_s: float = 5.0) -> None:
    """Copy the WAL into the database and truncate it to zero bytes, so deleted rows leave no
    copy in the log. Another process's open read transaction blocks it: SQLite's busy handler
    waits up to `wait_s` for it to end."""
    conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
    try:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if busy:
        raise RecordsError(
            "deleted, but the write-ahead log could not be truncated: another process holds "
            "a read transaction; the next erase or checkpoint completes it"
        )
