"""Wrapped record keys in their own SQLite file (separate from the ciphertexts, on purpose).

`secure_delete` zeroes deleted rows in place and every destruction ends with a TRUNCATE checkpoint,
so no copy of a destroyed wrapped key is left in the database file or its write-ahead log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from services.records.keystore import KeyStorage, WrappedKey
from services.records.sqlite_db import checkpoint_truncate, connect
from services.runtime.sqlite_helpers import immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS record_keys (
  key_ref TEXT PRIMARY KEY,
  kek_id  TEXT NOT NULL,
  wrapped BLOB NOT NULL
);
"""


class SqliteKeyStorage(KeyStorage):
    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = connect(path, synchronous)
        self._conn.executescript(_SCHEMA)

    def put_many(self, keys: Iterable[WrappedKey]) -> None:
        rows = [(k.key_ref, k.kek_id, k.wrapped) for k in keys]
        with self._lock, immediate(self._conn):
            self._conn.executemany("INSERT INTO record_keys VALUES (?, ?, ?)", rows)

    def replace_many(self, keys: Iterable[WrappedKey]) -> None:
        rows = [(k.kek_id, k.wrapped, k.key_ref) for k in keys]
        with self._lock:
            with immediate(self._conn):
                self._conn.executemany(
                    "UPDATE record_keys SET kek_id = ?, wrapped = ? WHERE key_ref = ?", rows
                )
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
            self._delete(key_refs)
            checkpoint_truncate(self._conn)

    def discard(self, key_refs: list[str]) -> None:
        """No TRUNCATE checkpoint: it waits for every other connection's read transaction and
        fails after 5 s, and writers racing for one window part (each a key, the losers' unused)
        failed their whole write on it under load (2026-12-07)."""
        with self._lock:
            self._delete(key_refs)

    def _delete(self, key_refs: list[str]) -> None:
        with immediate(self._conn):
            self._conn.executemany(
                "DELETE FROM record_keys WHERE key_ref = ?", [(r,) for r in key_refs]
            )

    def scan(self, page: int = 1000) -> Iterator[WrappedKey]:
        """Every key, a page at a time (a rotation of millions never holds them all)."""
        after = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT key_ref, kek_id, wrapped FROM record_keys WHERE key_ref > ? "
                    "ORDER BY key_ref LIMIT ?", (after, page)).fetchall()
            yield from (WrappedKey(*row) for row in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
