"""Wrapped record keys in their own SQLite file (separate from the ciphertexts, on purpose).

`secure_delete` zeroes deleted rows in place and every destruction ends with a TRUNCATE checkpoint,
so no copy of a destroyed wrapped key is left in the database file or its write-ahead log.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from services.records.base import RecordsError
from services.records.keystore import KeyStorage, WrappedKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS record_keys (
  key_ref TEXT PRIMARY KEY,
  kek_id  TEXT NOT NULL,
  wrapped BLOB NOT NULL
);
"""

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


class SqliteKeyStorage(KeyStorage):
    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = connect(path, synchronous)
        self._conn.executescript(_SCHEMA)

    def put_many(self, keys: Iterable[WrappedKey]) -> None:
        rows = [(k.key_ref, k.kek_id, k.wrapped) for k in keys]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT INTO record_keys VALUES (?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def replace_many(self, keys: Iterable[WrappedKey]) -> None:
        rows = [(k.kek_id, k.wrapped, k.key_ref) for k in keys]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "UPDATE record_keys SET kek_id = ?, wrapped = ? WHERE key_ref = ?", rows
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            # the old wrapping is now garbage: do not leave it in the WAL
            checkpoint_truncate(self._conn)

    def get(self, key_ref: str) -> WrappedKey | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT key_ref, kek_id, wrapped FROM record_keys WHERE key_ref = ?", (key_ref,)
            ).fetchone()
        return WrappedKey(*row) if row else None

    def get_many(self, key_refs: list[str]) -> dict[str, WrappedKey]:
        out: dict[str, WrappedKey] = {}
        with self._lock:
            for i in range(0, len(key_refs), 500):
                chunk = key_refs[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(
                    f"SELECT key_ref, kek_id, wrapped FROM record_keys WHERE key_ref IN ({marks})",
                    chunk,
                ):
                    out[row[0]] = WrappedKey(*row)
        return out

    def destroy(self, key_refs: list[str]) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "DELETE FROM record_keys WHERE key_ref = ?", [(r,) for r in key_refs]
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            checkpoint_truncate(self._conn)

    def scan(self) -> Iterator[WrappedKey]:
        with self._lock:
            rows = self._conn.execute("SELECT key_ref, kek_id, wrapped FROM record_keys").fetchall()
        for row in rows:
            yield WrappedKey(*row)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
