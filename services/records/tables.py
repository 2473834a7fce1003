"""The narrow storage interface under the record store: rows by key, atomic writes, the named
queries the store runs, the change log and the erasure journal. Nothing else.

The logic (sealing, hash and anchor checks, dead-letter encryption, erasure, key destruction,
windows, batches, bundles, onboarding, the change stream) lives once, in `services.records.store`,
and speaks only this interface. Each backend (`sqlite_tables.py`, `firestore_tables.py`)
implements it and knows nothing of records, keys or Merkle trees; how it lays rows out and indexes
them is its own business (Firestore's layout is built for 1,000 windows/s, see docs/records.md).

Rows are dicts of the logical fields below. A field set to None is absent: SQLite stores NULL,
Firestore deletes the field (so a cleared field leaves no index entry behind). Every row read
back carries its key under the table's key field.

    windows       record_id: owner, device_id, window_start_ms, version, key_ref, ciphertext,
                  ciphertext_sha256, created_ms, erased_ms, batch_root, proof, anchored (bool),
                  pending (bool: waiting for an anchored batch), flag (integrity problem, or None)
    batches       root (hex): record_ids (list), leaf_count, anchor_tx, created_ms
    bundles       bundle_id: owner, data_class, version, key_ref, pointer, ciphertext,
                  ciphertext_sha256, created_ms, erased_ms
    devices       device_id: owner, public_key, registered_ms
    contacts      owner: emails (list)
    doctors       owner: address, email ("" until the doctor's address confirmed it)
    email_confirmations  token (sha256 hex of the emailed secret): owner, email, purpose
                  ("contact" or "doctor"), doctor (address, for "doctor"), expires_ms
    profiles      owner: name (or None), time_zone (IANA)
    dead_letters  id: kind, key_ref, ciphertext, payload_digest, reason, at_ms, retired_ms
                  (set on a retired letter: what it held was processed after all; no key,
                  no payload, kept so the same letter is not written again, then purged)
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from services.records.keystore import KeyStorage

TABLE_KEYS = {
    "windows": "record_id",
    "batches": "root",
    "bundles": "bundle_id",
    "devices": "device_id",
    "contacts": "owner",
    "doctors": "owner",
    "email_confirmations": "token",
    "profiles": "owner",
    "dead_letters": "id",
}

Row = dict[str, Any]
T = TypeVar("T")


class RowExists(Exception):
    """A `create` found the row already there (the whole atomic write was refused)."""


@dataclass(frozen=True)
class NewChange:
    """An event for the owner's change stream, appended atomically with the writes it describes.
    The backend assigns its cursor."""

    owner: str
    kind: str
    record_id: str | None = None


@dataclass(frozen=True)
class Write:
    """`create` fails if the row exists (RowExists); `set` replaces the row; `update` changes the
    named fields of an existing row; `delete` removes the row (no fields; none there is fine)."""

    op: Literal["create", "set", "update", "delete"]
    table: str
    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)


class Txn(Protocol):
    """Inside `Tables.transact`: reads first, then writes. The function may run more than once
    (Firestore retries on contention): no side effects outside the transaction."""

    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None: ...

    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]: ...

    def write(self, write: Write) -> None: ...

    def change(self, change: NewChange) -> None: ...


class Tables(ABC):
    """One chain namespace of one backend. Thread-safe."""

    namespace: str
    keys: KeyStorage  # wrapped record keys, kept apart from the rows
    # how many rows one `transact` may write; larger jobs are split (None: no limit)
    max_txn_rows: int | None = None
    # the largest ciphertext a row may hold (bigger bundles go to the blob store; None: any)
    max_inline_bytes: int | None = None

    # ---- the namespace itself (constructors take `create`: make it if missing, or refuse with
    # StoreNotFound — operator commands never create one by accident)
    @abstractmethod
    def location(self) -> str:
        """Where this namespace lives, for operators (a directory, a Firestore path)."""

    # ---- rows
    @abstractmethod
    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None: ...

    @abstractmethod
    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]: ...

    @abstractmethod
    def commit(self, writes: Sequence[Write], changes: Sequence[NewChange] = ()) -> None:
        """Apply writes and append changes atomically (a few rows; RowExists on a create)."""

    @abstractmethod
    def insert_new(
        self, table: str, rows: Sequence[tuple[str, Row, NewChange | None]]
    ) -> set[str]:
        """Create each row that does not exist yet, with its change; returns the keys created.
        A row someone else created first is left as it is (no error): idempotent puts."""

    @abstractmethod
    def transact(self, fn: Callable[[Txn], T]) -> T:
        """Run `fn` in one read-then-write transaction and return its result."""

    # ---- the queries the store runs (each one an index in Firestore: firestore.indexes.json)
    @abstractmethod
    def windows_of(
        self, owner: str, since_ms: int, limit: int, fields: Sequence[str]
    ) -> list[Row]:
        """The owner's windows with window_start_ms >= since_ms, by (window_start_ms, record_id)."""

    def windows_of_owners(
        self, owners: Sequence[str], since_ms: int, until_ms: int, fields: Sequence[str]
    ) -> list[Row]:
        """Every window of these owners with since_ms <= window_start_ms < until_ms, each
        owner's by (window_start_ms, record_id). Here: windows_of, page by page, per owner (the
        one indexed query); a backend that can ask for many owners at once overrides it."""
        out: list[Row] = []
        page = 500
        for owner in dict.fromkeys(owners):
            since = since_ms
            seen: set[str] = set()
            while True:
                rows = self.windows_of(owner, since, page, fields)
                fresh = [r for r in rows if r["record_id"] not in seen]
                out += [r for r in fresh if r["window_start_ms"] < until_ms]
                seen.update(r["record_id"] for r in fresh)
                if (len(rows) < page or not fresh or rows[-1]["window_start_ms"] >= until_ms):
                    break
                since = rows[-1]["window_start_ms"]  # inclusive: `seen` skips rows read already
        return out

    @abstractmethod
    def pending_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        """Windows with pending set, oldest first by (created_ms, record_id)."""

    @abstractmethod
    def flagged_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        """Windows with a flag (an integrity problem), any order."""

    @abstractmethod
    def rows_where(self, table: str, field_name: str, value: str) -> list[Row]:
        """Rows with field == value: devices by owner, doctors by address (small results)."""

    @abstractmethod
    def dead_letter_rows(self, kind: str | None, limit: int | None) -> list[Row]:
        """Dead letters (of one kind, or all), oldest first by (at_ms, id); retired ones
        left out."""

    @abstractmethod
    def retired_letter_ids(self, before_ms: int, limit: int) -> list[str]:
        """Up to `limit` ids of letters retired before `before_ms`, any order."""

    # ---- the change log, per owner
    @abstractmethod
    def changes_after(self, owner: str, cursor: str | None, limit: int) -> list[Row]:
        """Rows {cursor, kind, record_id, at_ms} after `cursor` (None: from the start)."""

    @abstractmethod
    def latest_cursor(self, owner: str) -> str | None: ...

    @abstractmethod
    def trim_changes(self, before_ms: int) -> int:
        """Delete every owner's change rows stamped before `before_ms`, a few hundred per
        write; returns how many. The caller keeps `before_ms` at least MIN_CHANGES_RETENTION_S
        in the past."""

    @abstractmethod
    def cursor_expired(self, cursor: str) -> bool:
        """True when changes after `cursor` may have been trimmed."""

    @abstractmethod
    def follow_changes(
        self, owner: str, after: str | None, stop: threading.Event
    ) -> Iterator[Row]:
        """Block and yield each change after `after` once, in order, until `stop` is set."""

    # ---- the erasure journal (what was erased, on purpose; kept out of backups)
    @abstractmethod
    def journal_erasure(self, record_id: str) -> None:
        """Durably note the erasure of `record_id` before anything is destroyed."""

    @abstractmethod
    def is_journaled(self, record_id: str) -> bool: ...

    @abstractmethod
    def journaled(self) -> list[str]:
        """Every erased record id, oldest first, each once."""

    # ---- housekeeping
    def scrub(self) -> None:
        """After deleting data: leave no copy in this backend's own files where it can (SQLite
        truncates its write-ahead log); a no-op where the backend keeps none we can reach."""

    @abstractmethod
    def close(self) -> None: ...
