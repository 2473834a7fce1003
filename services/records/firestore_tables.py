"""The record store's tables in Firestore, laid out for 1,000 windows/s (docs/records.md, "Firestore
at production rates"; the indexes it needs ship in firestore.indexes.json).

    {prefix}_chains/{namespace}                     chain identity, layout version
        windows/{record_id}  batches/{root hex}  bundles/{bundle_id}  devices/{device_id}
        contacts/{owner}  doctors/{owner}  profiles/{owner}  dead_letters/{id}  erasures/{record_id}
        owners/{owner}/changes/{cursor}             each owner's change log
    {prefix}_keys/{namespace}/record_keys/{key_ref} wrapped keys (optionally another database)

Why it holds at rate: document ids are hashes or random (no hot key range); every field grows
with time (`*_ms`) or is large bytes is exempt from single-field indexing; the two time-ordered
queries over whole collections go through a composite index whose first field is a shard
(`pending_shard`, `shard`: 16 values from a hash of the document id), so their index writes spread
over 16 ranges instead of one; a window leaves the pending index by losing the field, never by
an indexed null. Listing an owner's windows uses (owner, window_start_ms): the owner address is
itself a shard with as many values as patients.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from services.records.base import MIN_CHANGES_RETENTION_S, StoreNotFound
from services.records.firestore_indexes import ASC, DESC, QueryShape
from services.records.firestore_keys import MAX_WRITES_PER_BATCH, FirestoreKeyStorage, chunks
from services.records.tables import TABLE_KEYS, NewChange, Row, RowExists, T, Tables, Write
from services.records.validation import now_ms

SHARDS = 16  # changing it needs a migration: queries list shards 0..SHARDS-1
LAYOUT_VERSION = 2  # 1: `pending` bool, unsharded dead letters (migrated on open)
ALL_SHARDS = list(range(SHARDS))
TRIM_HORIZON_FIELD = "changes_trimmed_before_ms"  # on the chain's document


def shard_of(key: str) -> int:
    """A stable, uniform shard for a document id (ids are hashes already; hash again anyway so
    any id works)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % SHARDS


def _new_cursor() -> str:
    # time-ordered and unique across writers; the stream orders by it
    return f"{time.time_ns():020d}-{os.urandom(4).hex()}"


class FirestoreTables(Tables):
    # a transaction is one request: 200 window updates + as many change events + the batch
    # stay inside a commit's 500 writes
    max_txn_rows = 200
    max_inline_bytes = 900 * 1024  # a document holds at most 1 MiB

    def __init__(
        self,
        client: firestore.Client,
        namespace: str,
        identity: Mapping[str, Any],
        *,
        key_client: firestore.Client | None = None,
        prefix: str = "pulseledger",
        create: bool = True,
    ) -> None:
        self.namespace = namespace
        self.prefix = prefix
        self._client = client
        self._key_client = key_client
        self._root = client.collection(f"{prefix}_chains").document(namespace)
        # every query's shape, when a test asks (the index coverage check)
        self.query_log: list[QueryShape] | None = None
        snap = self._root.get()
        if not snap.exists:
            if not create:
                raise StoreNotFound(
                    f"no record store for chain namespace {namespace} in {self.location()}"
                )
            self._root.set({"chain": json.dumps(dict(identity)), "layout": LAYOUT_VERSION})
        elif snap.to_dict().get("layout") != LAYOUT_VERSION:
            self._migrate()
        self.keys = FirestoreKeyStorage(key_client or client, prefix, namespace)

    def location(self) -> str:
        return f"Firestore project {self._client.project}, document {self._root.path}"

    # ------------------------------------------------------------------------- layout
    def _col(self, table: str):
        return self._root.collection(table)

    def _ref(self, table: str, key: str):
        return self._col(table).document(key)

    def _changes(self, owner: str):
        return self._root.collection("owners").document(owner).collection("changes")

    def _encode(self, table: str, key: str, fields: Mapping[str, Any], update: bool) -> dict:
        """Logical fields → document fields. None is absence: omitted, or deleted by an update
        (an indexed null would sit in the index like any value)."""
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if name == TABLE_KEYS[table]:
                continue
            if table == "windows" and name == "pending":
                name, value = "pending_shard", shard_of(key) if value else None
            if value is None:
                if update:
                    out[name] = firestore.DELETE_FIELD
                continue
            out[name] = value
        if table == "dead_letters" and not update:
            # a retired letter leaves the listing's shards for the purge's (retired_ms)
            out["retired_shard" if "retired_ms" in out else "shard"] = shard_of(key)
        return out

    @staticmethod
    def _decode(table: str, snap) -> Row:
        row = snap.to_dict() or {}
        if table == "windows":
            row["pending"] = row.pop("pending_shard", None) is not None
        row.pop("shard", None)
        row.pop("retired_shard", None)
        row[TABLE_KEYS[table]] = snap.id
        return row

    @staticmethod
    def _paths(table: str, fields: Sequence[str] | None) -> list[str] | None:
        if fields is None:
            return None
        key = TABLE_KEYS[table]
        return [("pending_shard" if f == "pending" else f) for f in fields if f != key]

    def _stream(self, query, shape: QueryShape):
        if self.query_log is not None:
            self.query_log.append(shape)
        return query.stream()

    # ------------------------------------------------------------------------------- rows
    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None:
        return self.get_many(table, [key], fields).get(key)

    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]:
        paths = self._paths(table, fields)
        found: dict[str, Row] = {}
        for chunk in chunks(list(dict.fromkeys(keys)), 300):
            refs = [self._ref(table, k) for k in chunk]
            for snap in self._client.get_all(refs, field_paths=paths):
                if snap.exists:
                    found[snap.id] = self._decode(table, snap)
        return found

    def _apply(self, sink, write: Write) -> None:
        ref = self._ref(write.table, write.key)
        if write.op == "delete":
            sink.delete(ref)
            return
        data = self._encode(write.table, write.key, write.fields, write.op == "update")
        if write.op == "create":
            sink.create(ref, data)
        elif write.op == "set":
            sink.set(ref, data)
        else:
            sink.update(ref, data)

    def _append_change(self, sink, change: NewChange) -> None:
        cursor = _new_cursor()
        data = {"cursor": cursor, "kind": change.kind, "at_ms": now_ms()}
        if change.record_id is not None:  # absent rather than null, as everywhere
            data["record_id"] = change.record_id
        sink.set(self._changes(change.owner).document(cursor), data)

    def commit(self, writes: Sequence[Write], changes: Sequence[NewChange] = ()) -> None:
        if len(writes) + len(changes) > MAX_WRITES_PER_BATCH:
            raise ValueError("one atomic commit holds at most 500 writes: use transact in chunks")
        batch = self._client.batch()
        for write in writes:
            self._apply(batch, write)
        for change in changes:
            self._append_change(batch, change)
        try:
            batch.commit()
        except AlreadyExists as error:
            raise RowExists(str(error)) from None

    def insert_new(
        self, table: str, rows: Sequence[tuple[str, Row, NewChange | None]]
    ) -> set[str]:
        created: set[str] = set()
        for chunk in chunks(list(rows), MAX_WRITES_PER_BATCH // 2):
            try:
                self._create_all(table, chunk)
                created.update(key for key, _, _ in chunk)
            except AlreadyExists:  # someone else stored one of them: go one by one
                for row in chunk:
                    try:
                        self._create_all(table, [row])
                        created.add(row[0])
                    except AlreadyExists:
                        pass
        return created

    def _create_all(self, table: str, rows: Sequence[tuple[str, Row, NewChange | None]]) -> None:
        batch = self._client.batch()
        for key, fields, change in rows:
            batch.create(self._ref(table, key), self._encode(table, key, fields, update=False))
            if change is not None:
                self._append_change(batch, change)
        batch.commit()

    def transact(self, fn: Callable[[_FirestoreTxn], T]) -> T:
        @firestore.transactional
        def run(transaction) -> T:
            return fn(_FirestoreTxn(self, transaction))

        try:
            return run(self._client.transaction())
        except AlreadyExists as error:
            raise RowExists(str(error)) from None

    # ---------------------------------------------------------------------------- queries
    def windows_of(
        self, owner: str, since_ms: int, limit: int, fields: Sequence[str]
    ) -> list[Row]:
        query = (
            self._col("windows")
            .where(filter=FieldFilter("owner", "==", owner))
            .where(filter=FieldFilter("window_start_ms", ">=", since_ms))
            .order_by("window_start_ms")
            .limit(limit)
            .select(self._paths("windows", fields))
        )
        shape = QueryShape("windows", ("owner",), ("window_start_ms",), (("window_start_ms", ASC),))
        return [self._decode("windows", s) for s in self._stream(query, shape)]

    def pending_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        # one `in` over the shards: Firestore merges the 16 index ranges by created_ms
        query = (
            self._col("windows")
            .where(filter=FieldFilter("pending_shard", "in", ALL_SHARDS))
            .order_by("created_ms")
            .limit(limit)
            .select([*self._paths("windows", fields), "pending_shard"])
        )
        shape = QueryShape("windows", ("pending_shard",), (), (("created_ms", ASC),))
        return [self._decode("windows", s) for s in self._stream(query, shape)]

    def flagged_windows(self, limit: int, fields: Sequence[str]) -> list[Row]:
        query = (
            self._col("windows")
            .where(filter=FieldFilter("flag", ">", ""))
            .limit(limit)
            .select(self._paths("windows", fields))
        )
        shape = QueryShape("windows", (), ("flag",), (("flag", ASC),))
        return [self._decode("windows", s) for s in self._stream(query, shape)]

    def rows_where(self, table: str, field_name: str, value: str) -> list[Row]:
        query = self._col(table).where(filter=FieldFilter(field_name, "==", value))
        shape = QueryShape(table, (field_name,))
        return [self._decode(table, s) for s in self._stream(query, shape)]

    def dead_letter_rows(self, kind: str | None, limit: int | None) -> list[Row]:
        query = self._col("dead_letters")
        equalities: tuple[str, ...] = ("shard",)
        if kind is not None:
            query = query.where(filter=FieldFilter("kind", "==", kind))
            equalities = ("kind", "shard")
        query = query.where(filter=FieldFilter("shard", "in", ALL_SHARDS)).order_by("at_ms")
        if limit is not None:
            query = query.limit(limit)
        shape = QueryShape("dead_letters", equalities, (), (("at_ms", ASC),))
        return [self._decode("dead_letters", s) for s in self._stream(query, shape)]

    def retired_letter_ids(self, before_ms: int, limit: int) -> list[str]:
        query = (self._col("dead_letters")
                 .where(filter=FieldFilter("retired_shard", "in", ALL_SHARDS))
                 .where(filter=FieldFilter("retired_ms", "<", before_ms))
                 .order_by("retired_ms").limit(limit).select([]))
        shape = QueryShape("dead_letters", ("retired_shard",), ("retired_ms",),
                           (("retired_ms", ASC),))
        return [s.id for s in self._stream(query, shape)]

    # ------------------------------------------------------------------------ change log
    def _changes_query(self, owner: str, after: str | None):
        query = self._changes(owner).order_by("cursor")
        ranges: tuple[str, ...] = ()
        if after is not None:
            query = query.where(filter=FieldFilter("cursor", ">", after))
            ranges = ("cursor",)
        return query, QueryShape("changes", (), ranges, (("cursor", ASC),))

    def changes_after(self, owner: str, cursor: str | None, limit: int) -> list[Row]:
        query, shape = self._changes_query(owner, cursor)
        return [s.to_dict() for s in self._stream(query.limit(limit), shape)]

    def latest_cursor(self, owner: str) -> str | None:
        query = self._changes(owner).order_by("cursor", direction=firestore.Query.DESCENDING)
        shape = QueryShape("changes", (), (), (("cursor", DESC),))
        snaps = list(self._stream(query.limit(1), shape))
        return snaps[0].get("cursor") if snaps else None

    def trim_changes(self, before_ms: int) -> int:
        # The horizon is raised first, then rows go: a reader that checks it after its read
        # (Store.changes_since) cannot miss a trim that took rows from under it. Owners are
        # walked once (their documents are "missing" parents of their change logs, which
        # list_documents returns); each owner's old changes are a range of its cursors, which
        # start with their time, so the query needs no index beyond the one it already uses.
        self._raise_horizon(before_ms)
        bound = f"{before_ms * 1_000_000:020d}"
        trimmed, batch, pending = 0, self._client.batch(), 0
        for owner in self._root.collection("owners").list_documents():
            query = (owner.collection("changes").where(filter=FieldFilter("cursor", "<", bound))
                     .order_by("cursor"))
            for snap in self._stream(query, QueryShape("changes", (), ("cursor",),
                                                       (("cursor", ASC),))):
                batch.delete(snap.reference)
                pending += 1
                if pending == MAX_WRITES_PER_BATCH:
                    batch.commit()
                    trimmed, batch, pending = trimmed + pending, self._client.batch(), 0
        if pending:
            batch.commit()
        return trimmed + pending

    def _raise_horizon(self, before_ms: int) -> None:
        """The horizon only ever rises: a later trim with a longer retention (an operator's
        `trim-changes --older-than-days 30` after the peers' week) must not make cursors whose
        changes are gone look whole again. In a transaction, as two trimmers may overlap."""
        @firestore.transactional
        def raise_it(transaction) -> None:
            kept = (self._root.get(transaction=transaction).to_dict() or {}).get(
                TRIM_HORIZON_FIELD, 0)
            if kept < before_ms:
                transaction.update(self._root, {TRIM_HORIZON_FIELD: before_ms})

        raise_it(self._client.transaction())

    def cursor_expired(self, cursor: str) -> bool:
        stamp = cursor.split("-", 1)[0]
        if not (len(stamp) == 20 and stamp.isdigit()):
            return False  # not one of ours: changes_after read nothing stale for it either
        stamp_ms = int(stamp) // 1_000_000
        if stamp_ms > now_ms() - MIN_CHANGES_RETENTION_S * 1000:
            return False  # younger than any horizon can be: no read needed (the live streams)
        horizon = (self._root.get().to_dict() or {}).get(TRIM_HORIZON_FIELD, 0)
        return stamp_ms < horizon

    def follow_changes(
        self, owner: str, after: str | None, stop: threading.Event
    ) -> Iterator[Row]:
        """An on_snapshot listener on the changes after `after` → a queue → this generator.
        The listener may deliver a document again (a stream reset): each cursor is yielded
        once. Cursors are writer clock times: keep writers' clocks in sync (NTP), or a change
        stamped before `after` by a lagging clock is listed by changes_after but not followed."""
        query, shape = self._changes_query(owner, after)
        if self.query_log is not None:
            self.query_log.append(shape)
        events: queue.Queue[Row] = queue.Queue()

        def on_snapshot(_docs, changes, _read_time) -> None:
            added = [c.document.to_dict() for c in changes if c.type.name == "ADDED"]
            for row in sorted(added, key=lambda d: d["cursor"]):
                events.put(row)

        listener = query.on_snapshot(on_snapshot)
        seen: set[str] = set()
        try:
            while not stop.is_set():
                try:
                    row = events.get(timeout=0.1)
                except queue.Empty:
                    continue
                if row["cursor"] not in seen:
                    seen.add(row["cursor"])
                    yield row
        finally:
            listener.unsubscribe()

    # -------------------------------------------------------------------- erasure journal
    # Its own collection, outside the records: importing an older export (which overwrites the
    # documents it holds and leaves the rest) does not undo a later erasure.
    def journal_erasure(self, record_id: str) -> None:
        self._ref("erasures", record_id).set({"at_ms": now_ms()})

    def is_journaled(self, record_id: str) -> bool:
        return self._ref("erasures", record_id).get().exists

    def journaled(self) -> list[str]:
        snaps = self._stream(self._col("erasures"), QueryShape("erasures"))
        entries = sorted((s.get("at_ms"), s.id) for s in snaps)
        return [record_id for _, record_id in entries]

    # ------------------------------------------------------------------------ migration
    def _migrate(self) -> None:
        """Layout 1 → 2 (run by the first process of the new version; upgrade every writer
        together): pending windows get their shard, dead letters theirs."""
        legacy = self._col("windows").where(filter=FieldFilter("pending", "==", True))
        writes = [(s.reference, {"pending_shard": shard_of(s.id), "pending": firestore.DELETE_FIELD})
                  for s in self._stream(legacy, QueryShape("windows", ("pending",)))]
        letters = self._stream(self._col("dead_letters"), QueryShape("dead_letters"))
        writes += [(s.reference, {"shard": shard_of(s.id)}) for s in letters
                   if not {"shard", "retired_shard"} & set(s.to_dict() or {})]
        for chunk in chunks(writes, MAX_WRITES_PER_BATCH):
            batch = self._client.batch()
            for ref, data in chunk:
                batch.update(ref, data)
            batch.commit()
        self._root.set({"layout": LAYOUT_VERSION}, merge=True)

    def close(self) -> None:
        self._client.close()
        if self._key_client is not None:
            self._key_client.close()


class _FirestoreTxn:
    def __init__(self, tables: FirestoreTables, transaction) -> None:
        self._tables = tables
        self._transaction = transaction

    def get(self, table: str, key: str, fields: Sequence[str] | None = None) -> Row | None:
        return self.get_many(table, [key], fields).get(key)

    def get_many(
        self, table: str, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, Row]:
        refs = [self._tables._ref(table, k) for k in dict.fromkeys(keys)]
        if not refs:
            return {}
        snaps = self._tables._client.get_all(refs, field_paths=self._tables._paths(table, fields),
                                             transaction=self._transaction)
        return {s.id: self._tables._decode(table, s) for s in snaps if s.exists}

    def write(self, write: Write) -> None:
        self._tables._apply(self._transaction, write)

    def change(self, change: NewChange) -> None:
        self._tables._append_change(self._transaction, change)


def namespaces(client: firestore.Client, prefix: str = "pulseledger") -> list[dict[str, Any]]:
    """The chain identities stored in this database (for an operator's error message)."""
    found = []
    for snap in client.collection(f"{prefix}_chains").stream():
        try:
            identity = json.loads((snap.to_dict() or {}).get("chain", "{}"))
        except ValueError:
            identity = {}
        found.append({"namespace": snap.id, **identity})
    return found
