"""Wrapped record keys in their own SQLite file (separate from the ciphertexts, on purpose).

`secure_delete` zeroes deleted rows in place and every destruction ends with a TRUNCATE checkpoint,
so no copy of a destroyed wrapped key is left in the database file or its write-ahead log.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from services.records.keystore import KeyStorage, WrappedKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS record_keys (
  key_ref TEXT PRIMARY KEY,
  kek_id  TEXT NOT NULL,
  wrapped BLOB NOT NULL
);
"""


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def checkpoint_truncate(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database and truncate it to zero bytes (retry while readers hold it)."""
    for _ in range(50):
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        threading.Event().wait(0.02)
    raise RuntimeError("WAL checkpoint stayed busy: another process holds a read transaction")


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
