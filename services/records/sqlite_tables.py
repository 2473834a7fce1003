"""The record store's tables in SQLite: `<sqlite_dir>/<namespace>/records.sqlite3`, wrapped keys in
`<sqlite_key_dir or sqlite_dir>/<namespace>/keys.sqlite3`, the erasure journal in `erasures.log`
beside the records (outside every backup). WAL mode, `secure_delete=ON`; `scrub()` truncates the
write-ahead log so erased rows leave no copy. Thread-safe (one lock around the connection);
several processes may share the files (SQLite locking, busy timeout)."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.records.base import InvalidInput, StoreNotFound
from services.records.sqlite_db import checkpoint_truncate, connect
from services.records.sqlite_keys import SqliteKeyStorage
from services.records.tables import NewChange, Row, RowExists, T, Tables, Write
from services.records.validation import now_ms
from services.runtime.durable_files import write_atomically
from services.runtime.sqlite_helpers import immediate

# A ciphertext larger than this is read with SQLite's incremental BLOB I/O rather than in the
# row: a 2.7 MB bundle took 4.3 ms to SELECT and 0.3 ms through `blobopen` (its overflow pages
# cached either way), and a buyer read of it is mostly this.
LARGE_COLUMN = "ciphertext"
INLINE_READ_BYTES = 64 * 1024
TRIM_ROWS_PER_WRITE = 500  # change rows deleted per transaction when the log is trimmed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
  record_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  window_start_ms INTEGER NOT NULL,
  version INTEGER NOT NULL,
  key_ref TEXT NOT NULL,
  ciphertext BLOB,
  ciphertext_sha256 BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  erased_ms INTEGER,
  batch_root BLOB,
  proof BLOB,
  anchored INTEGER NOT NULL DEFAULT 0,
  pending INTEGER,
  flag TEXT
);
CREATE INDEX IF NOT EXISTS windows_by_owner ON windows(owner, window_start_ms);
CREATE TABLE IF NOT EXISTS batches (
  root BLOB PRIMARY KEY, record_ids TEXT NOT NULL, leaf_count INTEGER NOT NULL,
  anchor_tx TEXT, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bundles (
  bundle_id TEXT PRIMARY KEY, owner TEXT NOT NULL, data_class INTEGER NOT NULL,
  version INTEGER NOT NULL, key_ref TEXT NOT NULL, pointer TEXT NOT NULL, ciphertext BLOB,
  ciphertext_sha256 BLOB NOT NULL, created_ms INTEGER NOT NULL, erased_ms INTEGER
);
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY, owner TEXT NOT NULL, public_key BLOB NOT NULL,
  registered_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_by_owner ON devices(owner);
CREATE TABLE IF NOT EXISTS contacts (owner TEXT PRIMARY KEY, emails TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doctors (owner TEXT PRIMARY KEY, address TEXT NOT NULL, email TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doctors_by_address ON doctors(address);
CREATE TABLE IF NOT EXISTS email_confirmations (
  token TEXT PRIMARY KEY, owner TEXT NOT NULL, email TEXT NOT NULL, purpose TEXT NOT NULL,
  doctor TEXT, expires_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS email_confirmations_by_owner ON email_confirmations(owner);
CREATE TABLE IF NOT EXISTS profiles (owner TEXT PRIMARY KEY, name TEXT, time_zone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, key_ref TEXT NOT NULL, ciphertext BLOB,
  payload_digest BLOB NOT NULL, reason TEXT NOT NULL, at_ms INTEGER NOT NULL,
  retired_ms INTEGER
);
CREATE INDEX IF NOT EXISTS dead_letters_by_kind ON dead_letters(kind, at_ms);
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters(at_ms);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, kind TEXT NOT NULL,
  record_id TEXT, at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_owner ON changes(owner, seq);
"""

# Stores written before `pending` and `flag` existed: add them (pending = not anchored, not
# erased, exactly what the old `anchored = 0 AND erased_ms IS NULL` scan meant).
_MIGRATIONS = {
    "pending": "ALTER TABLE windows ADD COLUMN pending INTEGER; "
    "UPDATE windows SET pending = 1 WHERE anchored = 0 AND erased_ms IS NULL;",
    "flag": "ALTER TABLE windows ADD COLUMN flag TEXT;",
}
# Stores written before a window could have parts (2026-12-06: readings that reach storage after
# their window was written are kept as its next part, store_windows.add_to_window) held each
# (device, window start) once. SQLite drops a table constraint only by copying the table: once,
# at the first open after the upgrade. The record id, derived from the device, the start and the
# part, still keeps each part written once.
_WINDOWS_UNIQUE_START = "UNIQUE (device_id, window_start_ms)"
_WINDOW_COLUMNS = ("record_id, owner, device_id, window_start_ms, version, key_ref, ciphertext, "
                   "ciphertext_sha256, created_ms, erased_ms, batch_root, proof, anchored, "
                   "pending, flag")
_WINDOWS_WITHOUT_UNIQUE_START = (
    _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS windows"):_SCHEMA.index(");") + 2]
    .replace("CREATE TABLE IF NOT EXISTS windows", "CREATE TABLE windows_parted"),
    f"INSERT INTO windows_parted ({_WINDOW_COLUMNS}) SELECT {_WINDOW_COLUMNS} FROM windows",
    "DROP TABLE windows",
    "ALTER TABLE windows_parted RENAME TO windows",
    "CREATE INDEX IF NOT EXISTS windows_by_owner ON windows(owner, window_start_ms)",
)
# columns added to tables other than `windows` since they were first made: (table, column, type)
_ADDED_COLUMNS = (("dead_letters", "retired_ms", "INTEGER"),)
_INDEXES_AFTER_MIGRATION = """
CREATE INDEX IF NOT EXISTS dead_letters_retired ON dead_letters(retired_ms)
  WHERE retired_ms IS NOT NULL;
DROP INDEX IF EXISTS windows_pending;
CREATE INDEX IF NOT EXISTS windows_pending_by_age ON windows(created_ms, record_id) WHERE pending = 1;
CREATE INDEX IF NOT EXISTS windows_flagged ON windows(flag) WHERE flag IS NOT NULL;
"""


@dataclass(frozen=True)
class _Table:
    name: str
    key: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()
    blob_key: bool = False  # batches: the logical key is the hex of the BLOB primary key

    def encode(self, column: str, value: Any) -> Any:
        encoder = self.encoder(column)
        return value if encoder is None or value is None else encoder(value)

    def encoder(self, column: str) -> Callable[[Any], Any] | None:
        """How a column's logical value is stored (None: as it is)."""
        if column in self.json_columns:
            return lambda value: json.dumps(list(value))
        if column == "anchored":
            return lambda value: int(bool(value))
        if column == "pending":
            return lambda value: 1 if value else None  # NULL keeps it out of the partial index
        return None

    def decode(self, row: tuple, columns: tuple[str, ...]) -> Row:
        return _decoder(self, columns)(row)

    def key_value(self, key: str) -> Any:
        return bytes.fromhex(key) if self.blob_key else key


_TABLES = {
    t.name: t
    for t in (
        _Table(
            "windows",
            "record_id",
            (
                "record_id", "owner", "device_id", "window_start_ms", "version", "key_ref",
                "ciphertext", "ciphertext_sha256", "created_ms", "erased_ms", "batch_root",
                "proof", "anchored", "pending", "flag",
            ),
        ),
        _Table(
            "batches",
            "root",
            ("root", "record_ids", "leaf_count", "anchor_tx", "created_ms"),
            json_columns=frozenset({"record_ids"}),
            blob_key=True,
        ),
        _Table(
            "bundles",
            "bundle_id",
            (
                "bundle_id", "owner", "data_class", "version", "key_ref", "pointer",
                "ciphertext", "ciphertext_sha256", "created_ms", "erased_ms",
            ),
        ),
        _Table("devices", "device_id", ("device_id", "owner", "public_key", "registered_ms")),
        _Table("contacts", "owner", ("owner", "emails"), json_columns=frozenset({"emails"})),
        _Table("doctors", "owner", ("owner", "address", "email")),
        _Table("email_confirmations", "token",
               ("token", "owner", "email", "purpose", "doctor", "expires_ms")),
        _Table("profiles", "owner", ("owner", "name", "time_zone")),
        _Table(
            "dead_letters",
            "id",
            ("id", "kind", "key_ref", "ciphertext", "payload_digest", "reason", "at_ms",
             "retired_ms"),
        ),
    )
}


@functools.cache
def _decoder(spec: _Table, columns: tuple[str, ...]) -> Callable[[tuple], Row]:
    """Row tuple → logical row, with the conversions worked out once per column list."""
    special = []
    for column in columns:
        if column in spec.json_columns:
            special.append((column, lambda v: None if v is None else json.loads(v)))
        elif column in ("anchored", "pending"):
            special.append((column, bool))
    blob_key = spec.blob_key and spec.key in columns

    def decode(row: tuple) -> Row:
        out = dict(zip(columns, row, strict=True))
        for column, convert in special:
            out[column] = convert(out[column])
        if blob_key:
            out[spec.key] = out[spec.key].hex()
        return out

    return decode


@functools.cache
def _statement(spec: _Table, op: str, columns: tuple[str, ...]) -> tuple[str, tuple]:
    """(SQL, encoders) of one write shape; `columns` excludes the key."""
    encoders = tuple(spec.encoder(c) for c in columns)
    if op == "delete":
        return f"DELETE FROM {spec.name} WHERE {spec.key} = ?", encoders
    if op == "update":
        sets = ", ".join(f"{c} = ?" for c in columns)
        return f"UPDATE {spec.name} SET {sets} WHERE {spec.key} = ?", encoders
    verb = "INSERT" if op == "create" else "INSERT OR REPLACE"
    names = (spec.key, *columns)
    return (f"{verb} INTO {spec.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})"), encoders


def _table(name: str) -> _Table:
    try:
        return _TABLES[name]
    except KeyError:
        raise ValueError(f"no table {name!r}") from None


def _inline_only(column: str) -> str:
    """The column's value when small; NULL when large (read by `blobopen` instead): `length()`
    of a BLOB needs only its header, not its overflow pages."""
    return f"CASE WHEN length({column}) > {INLINE_READ_BYTES} THEN NULL ELSE {column} END"


def _columns(table: _Table, fields: Sequence[str] | None) -> tuple[str, ...]:
    if fields is None:
        return table.columns
    wanted = dict.fromkeys((table.key, *fields))
    unknown = [f for f in wanted if f not in table.columns]
    if unknown:
        raise ValueError(f"no such column in {table.name}: {unknown}")
    return tuple(wanted)


class SqliteTables(Tables):
    def __init__(
        self,
        directory: Path,
        key_directory: Path,
        namespace: str,
        identity: Mapping[str, Any],
        *,
        create: bool = True,
        synchronous: str = "FULL",
        poll_interval_s: float = 0.2,
    ) -> None:
        self.namespace = namespace
        self.directory = Path(directory) / namespace
        self.key_directory = Path(key_directory) / namespace
        self.db_path = self.directory / "records.sqlite3"
        self.key_db_path = self.key_directory / "keys.sqlite3"
        self.erasure_journal = self.directory / "erasures.log"
        self.poll_interval_s = poll_interval_s
        if not create and not (self.db_path.exists() and self.key_db_path.exists()):
            raise StoreNotFound(
                f"no record store for chain namespace {namespace} under {Path(directory)}"
                f" (keys under {Path(key_directory)})"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key_directory.mkdir(parents=True, exist_ok=True)
        chain_file = self.directory / "chain.json"
        if not chain_file.exists():
            try:  # whole or not at all: a half-written identity would refuse the store
                write_atomically(chain_file, (json.dumps(dict(identity), indent=2) + "\n").encode(),
                                 exclusive=True)
            except FileExistsError:
                pass  # another process opening the same new store wrote it
        self._lock = threading.RLock()
        self._conn = connect(self.db_path, synchronous)
        self._conn.executescript(_SCHEMA)
        self._migrate()
        self.keys = SqliteKeyStorage(self.key_db_path, synchronous)

    def _migrate(self) -> None:
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(windows)")}
        missing = [column for column in _MIGRATIONS if column not in have]
        if missing:
            with immediate(self._conn):
                have = {row[1] for row in self._conn.execute("PRAGMA table_info(windows)")}
                for column in missing:
                    if column not in have:  # another process may have just done it
                        for statement in _MIGRATIONS[column].split(";"):
                            if statement.strip():
                                self._conn.execute(statement)
        for table, column, kind in _ADDED_COLUMNS:
            if column not in {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}:
                with immediate(self._conn):
                    if column not in {row[1] for row in self._conn.execute(
                            f"PRAGMA table_info({table})")}:  # another process may have done it
                        self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        if self._windows_unique_by_start():
            with immediate(self._conn):
                if self._windows_unique_by_start():  # another process may have just done it
                    for statement in _WINDOWS_WITHOUT_UNIQUE_START:
                        self._conn.execute(statement)
        self._conn.executescript(_INDEXES_AFTER_MIGRATION)

    def _windows_unique_by_start(self) -> bool:
        (sql,) = self._conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'windows'").fetchone()
        return _WINDOWS_UNIQUE_START in sql

    def location(self) -> str:
        return f"{self.directory} (keys: {self.key_directory})"

    @property
    def connection(self) -> sqlite3.Connection:
        """The records database (backups; tests that play the attacker)."""
        return self._conn

    # ------------------------------------------------------------------------------- rows
    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None:
        return self.get_many(table, [key], fields).get(key)

    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]:
        spec = _table(table)
        columns = _columns(spec, fields)
        large = LARGE_COLUMN if LARGE_COLUMN in columns else None
        selected = [_inline_only(c) if c == large else c for c in columns]
        if large:
            selected += [f"length({large})", "rowid"]
        unique = list(dict.fromkeys(keys))
        found: dict[str, Row] = {}
        with self._lock, self._snapshot(large is not None):
            for i in range(0, len(unique), 500):
                chunk = [spec.key_value(k) for k in unique[i : i + 500]]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(
                    f"SELECT {', '.join(selected)} FROM {spec.name} WHERE {spec.key} IN ({marks})",
                    chunk,
                ):
                    if large:
                        row = self._with_large_value(spec, columns, row)
                    decoded = spec.decode(row, columns)
                    found[decoded[spec.key]] = decoded
        return found

    @contextmanager
    def _snapshot(self, wanted: bool) -> Iterator[None]:
        """One read transaction around a row and its large value read apart, so another
        process's write cannot come between them (inside a write transaction already: that)."""
        if not wanted or self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def _with_large_value(self, spec: _Table, columns: tuple[str, ...], row: tuple) -> tuple:
        *values, length, rowid = row
        if length is not None and length > INLINE_READ_BYTES:
            at = columns.index(LARGE_COLUMN)
            with self._conn.blobopen(spec.name, LARGE_COLUMN, rowid, readonly=True) as blob:
                values[at] = blob.read()
        return tuple(values)

    def _write(self, write: Write) -> int:
        spec = _table(write.table)
        columns = tuple(c for c in write.fields if c != spec.key)
        sql, encoders = _statement(spec, write.op, columns)
        values = [v if f is None or v is None else f(v)
                  for f, v in zip(encoders, (write.fields[c] for c in columns), strict=True)]
        key = spec.key_value(write.key)
        args = (*values, key) if write.op in ("update", "delete") else (key, *values)
        try:
            return self._conn.execute(sql, args).rowcount
        except sqlite3.IntegrityError as error:
            raise RowExists(f"{write.table}/{write.key}: {error}") from None

    def _changes(self, changes: Sequence[NewChange]) -> None:
        if changes:
            at = now_ms()
            self._conn.executemany(
                "INSERT INTO changes (owner, kind, record_id, at_ms) VALUES (?, ?, ?, ?)",
                [(c.owner, c.kind, c.record_id, at) for c in changes],
            )

    def commit(self, writes: Sequence[Write], changes: Sequence[NewChange] = ()) -> None:
        with self._lock, immediate(self._conn):
            for write in writes:
                self._write(write)
            self._changes(changes)

    def insert_new(
        self, table: str, rows: Sequence[tuple[str, Row, NewChange | None]]
    ) -> set[str]:
        spec = _table(table)
        created: set[str] = set()
        if not rows:
            return created
        columns = (spec.key, *(c for c in rows[0][1] if c != spec.key))
        sql = (
            f"INSERT INTO {spec.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
        )
        encoders = [(c, spec.encoder(c)) for c in columns[1:]]
        changes = []
        with self._lock, immediate(self._conn):
            for key, fields, change in rows:
                values = [spec.key_value(key)]
                for column, encoder in encoders:  # the hot path of put_windows: kept plain
                    value = fields.get(column)
                    values.append(value if encoder is None or value is None else encoder(value))
                if self._conn.execute(sql, values).rowcount == 1:
                    created.add(key)
                    if change is not None:
                        changes.append(change)
            self._changes(changes)
        return created

    def transact(self, fn: Callable[[_SqliteTxn], T]) -> T:
        with self._lock, immediate(self._conn):
            return fn(_SqliteTxn(self))

    # ---------------------------------------------------------------------------- queries
    def _select(self, table: str, fields: Sequence[str] | None, tail: str, args: tuple) -> list[Row]:
        spec = _table(table)
        columns = _columns(spec, fields)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(columns)} FROM {spec.name} {tail}", args
            ).fetchall()
        return [spec.decode(row, columns) for row in rows]

    def windows_of(
        self, owner: str, since_ms: int, limit: int, fields: Sequence[str]
    ) -> list[Row]:
        return self._select(
            "windows",
            fields,
            "WHERE owner = ? AND window_start_ms >= ? ORDER BY window_start_ms, record_id LIMIT ?",
            (owner, since_ms, limit),
        )

    def windows_of_owners(
        self, owners: Sequence[str], since_ms: int, until_ms: int, fields: Sequence[str]
    ) -> list[Row]:
        # one query per 500 owners (windows_by_owner, an index range per owner), not one each:
        # a notification peer catching up a round's new users asks for ~1,000 at once
        spec = _table("windows")
        columns = _columns(spec, fields)
        unique = list(dict.fromkeys(owners))
        rows: list[Row] = []
        with self._lock:
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                rows += self._conn.execute(
                    f"SELECT {', '.join(columns)} FROM {spec.name} WHERE owner IN "
                    f"({','.join('?' * len(chunk))}) AND window_start_ms >= ? AND "
                    "window_start_ms < ? ORDER BY owner, window_start_ms, record_id",
                    (*chunk, since_ms, until_ms),
                ).fetchall()
        return [spec.decode(row, columns) for row in rows]

    def pending_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        return self._select(
            "windows", fields, "WHERE pending = 1 ORDER BY created_ms, record_id LIMIT ?", (limit,)
        )

    def flagged_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        return self._select("windows", fields, "WHERE flag IS NOT NULL LIMIT ?", (limit,))

    def rows_where(self, table: str, field_name: str, value: str) -> list[Row]:
        if (table, field_name) not in (("devices", "owner"), ("doctors", "address"),
                                       ("email_confirmations", "owner")):
            raise ValueError(f"no index for {table}.{field_name}")
        return self._select(table, None, f"WHERE {field_name} = ?", (value,))

    def dead_letter_rows(self, kind: str | None, limit: int | None) -> list[Row]:
        where, args = ("AND kind = ? ", (kind,)) if kind is not None else ("", ())
        return self._select(
            "dead_letters",
            None,
            f"WHERE retired_ms IS NULL {where}ORDER BY at_ms, id LIMIT ?",
            (*args, -1 if limit is None else limit),
        )

    def retired_letter_ids(self, before_ms: int, limit: int) -> list[str]:
        with self._lock:
            return [i for (i,) in self._conn.execute(
                "SELECT id FROM dead_letters WHERE retired_ms IS NOT NULL AND retired_ms < ? "
                "LIMIT ?", (before_ms, limit))]

    # ------------------------------------------------------------------------ change log
    def changes_after(self, owner: str, cursor: str | None, limit: int) -> list[Row]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, kind, record_id, at_ms FROM changes WHERE owner = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (owner, _seq(cursor), limit),
            ).fetchall()
        return [{"cursor": str(r[0]), "kind": r[1], "record_id": r[2], "at_ms": r[3]} for r in rows]

    def latest_cursor(self, owner: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT MAX(seq) FROM changes WHERE owner = ?", (owner,)).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def trim_changes(self, before_ms: int) -> int:
        # Cursors are the rows' ids, handed out in order (AUTOINCREMENT never reuses one), and
        # stamps follow them: the oldest rows by id are the ones to go, down to the first one
        # stamped at or after the horizon. No index on the stamp is needed, nor scanned. A few
        # hundred rows a transaction, so writers wait for a short lock only.
        trimmed = 0
        while True:
            with self._lock, immediate(self._conn):
                rows = self._conn.execute(
                    "SELECT seq, at_ms FROM changes ORDER BY seq LIMIT ?",
                    (TRIM_ROWS_PER_WRITE,)).fetchall()
                last = None
                for seq, at_ms in rows:
                    if at_ms >= before_ms:
                        break
                    last = seq
                if last is not None:
                    trimmed += self._conn.execute(
                        "DELETE FROM changes WHERE seq <= ?", (last,)).rowcount
            if last is None or len(rows) < TRIM_ROWS_PER_WRITE or rows[-1][0] != last:
                return trimmed

    def cursor_expired(self, cursor: str) -> bool:
        # Trimming removes a prefix of the ids, so a cursor is stale when rows after it are
        # gone: it is below the oldest id kept less one (or, with every row trimmed, below the
        # last id handed out).
        seq = _seq(cursor)
        with self._lock:
            oldest = self._conn.execute("SELECT MIN(seq) FROM changes").fetchone()[0]
            if oldest is None:
                row = self._conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
                oldest = row[0] + 1 if row else 1
        return seq < oldest - 1

    def follow_changes(
        self, owner: str, after: str | None, stop: threading.Event
    ) -> Iterator[Row]:
        cursor = after
        while not stop.is_set():
            rows = self.changes_after(owner, cursor, 100)
            for row in rows:
                yield row
                cursor = row["cursor"]
            if not rows:
                stop.wait(self.poll_interval_s)

    # -------------------------------------------------------------------- erasure journal
    def journal_erasure(self, record_id: str) -> None:
        with open(self.erasure_journal, "a") as journal:
            journal.write(record_id + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    def is_journaled(self, record_id: str) -> bool:
        return record_id in self.journaled()

    def journaled(self) -> list[str]:
        if not self.erasure_journal.exists():
            return []
        return list(dict.fromkeys(self.erasure_journal.read_text().split()))

    # ---------------------------------------------------------------------- housekeeping
    def scrub(self) -> None:
        with self._lock:
            checkpoint_truncate(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self.keys.close()


class _SqliteTxn:
    """Reads and writes on the connection already inside BEGIN IMMEDIATE."""

    def __init__(self, tables: SqliteTables) -> None:
        self._tables = tables

    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None:
        return self._tables.get(table, key, fields)

    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]:
        return self._tables.get_many(table, keys, fields)

    def write(self, write: Write) -> None:
        self._tables._write(write)

    def change(self, change: NewChange) -> None:
        self._tables._changes([change])


def _seq(cursor: str | None) -> int:
    if cursor is None:
        return 0
    # this store's cursors are its change rows' ids: ASCII digits, below SQLite's 2^63
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("malformed change cursor")
    return int(cursor)


def namespaces(directory: Path) -> list[dict[str, Any]]:
    """The chain identities stored under `directory` (for an operator's error message)."""
    found = []
    for chain_file in sorted(Path(directory).glob("*/chain.json")):
        try:
            identity = json.loads(chain_file.read_text())
        except (OSError, ValueError):
            continue
        found.append({"namespace": chain_file.parent.name, **identity})
    return found
