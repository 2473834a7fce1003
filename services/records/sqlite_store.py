"""The embedded record store: one SQLite file for records, another for their wrapped keys.

Layout: `<sqlite_dir>/<chain namespace>/records.sqlite3` and
`<sqlite_key_dir or sqlite_dir>/<chain namespace>/keys.sqlite3` — another chain identity is another
directory, so state never mixes. Both run in WAL mode with `secure_delete=ON`; erasure destroys the
key and checkpoints (TRUNCATE) both write-ahead logs.

Thread-safe (one lock around each connection); several processes may share the files (SQLite
locking, busy timeout), and idempotent puts stay idempotent across them: the window's primary key
is derived from (device_id, window_start_ms), and a writer that loses the race deletes the key it
minted.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from services.records import crypto, merkle
from services.records import validation as v
from services.records.base import (
    AnchorCheck,
    Batch,
    ChainIdentity,
    Change,
    Conflict,
    DeadLetter,
    Device,
    Doctor,
    InvalidInput,
    RecordErased,
    RecordNotFound,
    RecordStore,
    SellableRecord,
    TamperDetected,
    WindowInput,
    WindowMeta,
    WindowRef,
)
from services.records.keystore import Envelope, Keyring
from services.records.settings import RecordsSettings
from services.records.sqlite_keys import SqliteKeyStorage, checkpoint_truncate, connect

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
  UNIQUE (device_id, window_start_ms)
);
CREATE INDEX IF NOT EXISTS windows_by_owner ON windows(owner, window_start_ms);
CREATE INDEX IF NOT EXISTS windows_pending ON windows(anchored, created_ms);
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
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, key_ref TEXT NOT NULL, ciphertext BLOB,
  payload_sha256 BLOB NOT NULL, reason TEXT NOT NULL, at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_kind ON dead_letters(kind, at_ms);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, kind TEXT NOT NULL,
  record_id TEXT, at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_owner ON changes(owner, seq);
"""

_WINDOW_COLS = (
    "record_id, owner, device_id, window_start_ms, ciphertext_sha256, created_ms, batch_root, "
    "erased_ms"
)
DEAD_LETTER_OWNER = "dead-letter"


def _meta(row: tuple) -> WindowMeta:
    rid, owner, dev, start, sha, created, root, erased = row
    return WindowMeta(
        rid, owner, dev, start, bytes(sha), created, root and bytes(root), bool(erased)
    )


class SqliteRecordStore(RecordStore):
    def __init__(
        self,
        directory: Path,
        chain: ChainIdentity,
        keyring: Keyring,
        *,
        key_directory: Path | None = None,
        poll_interval_s: float = 0.2,
        synchronous: str = "FULL",
    ) -> None:
        self.chain = chain
        self.namespace = chain.namespace
        self.poll_interval_s = poll_interval_s
        self.directory = Path(directory) / self.namespace
        self.key_directory = Path(key_directory or directory) / self.namespace
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key_directory.mkdir(parents=True, exist_ok=True)
        identity = self.directory / "chain.json"
        if not identity.exists():
            identity.write_text(json.dumps(chain.canonical(), indent=2) + "\n")
        # ids of erased records, outside every backup: a restore re-applies it (reapply_erasures)
        self.erasure_journal = self.directory / "erasures.log"
        self.db_path = self.directory / "records.sqlite3"
        self.key_db_path = self.key_directory / "keys.sqlite3"
        self._lock = threading.RLock()
        self._conn = connect(self.db_path, synchronous)
        self._conn.executescript(_SCHEMA)
        self.keys = SqliteKeyStorage(self.key_db_path, synchronous)
        self.envelope = Envelope(keyring, self.keys)

    @classmethod
    def from_settings(cls, settings: RecordsSettings, chain: ChainIdentity) -> SqliteRecordStore:
        keyring = Keyring(settings.load_master_key(), settings.load_previous_master_keys())
        return cls(
            settings.sqlite_dir,
            chain,
            keyring,
            key_directory=settings.sqlite_key_dir,
            poll_interval_s=settings.watch_poll_interval_s,
        )

    # ------------------------------------------------------------------ transaction helpers
    def _write(self, fn, *args):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(*args)
                self._conn.execute("COMMIT")
                return result
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _change(self, owner: str, kind: str, record_id: str | None) -> None:
        self._conn.execute(
            "INSERT INTO changes (owner, kind, record_id, at_ms) VALUES (?, ?, ?, ?)",
            (owner, kind, record_id, v.now_ms()),
        )

    def _one(self, sql: str, args: tuple) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    # ------------------------------------------------------------------------- onboarding
    def register_device(self, device_id: str, owner: str, public_key: bytes) -> None:
        device_id, owner = v.device_id(device_id), v.address(owner, "owner")
        public_key = v.public_key(public_key)

        def tx() -> None:
            row = self._conn.execute(
                "SELECT owner FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
            if row and row[0] != owner:
                raise Conflict("device is registered to another owner")
            self._conn.execute(
                "INSERT INTO devices VALUES (?, ?, ?, ?) ON CONFLICT(device_id) "
                "DO UPDATE SET public_key = excluded.public_key",
                (device_id, owner, public_key, v.now_ms()),
            )
            self._change(owner, "device_registered", device_id)

        self._write(tx)

    def get_device(self, device_id: str) -> Device | None:
        row = self._one(
            "SELECT device_id, owner, public_key FROM devices WHERE device_id = ?",
            (v.device_id(device_id),),
        )
        return Device(row[0], row[1], bytes(row[2])) if row else None

    def devices_of(self, owner: str) -> list[Device]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, owner, public_key FROM devices WHERE owner = ? "
                "ORDER BY device_id",
                (v.address(owner, "owner"),),
            ).fetchall()
        return [Device(r[0], r[1], bytes(r[2])) for r in rows]

    def set_contacts(self, owner: str, emails: list[str]) -> None:
        owner = v.address(owner, "owner")
        clean = list(dict.fromkeys(v.email(e) for e in emails))

        def tx() -> None:
            self._conn.execute(
                "INSERT INTO contacts VALUES (?, ?) ON CONFLICT(owner) "
                "DO UPDATE SET emails = excluded.emails",
                (owner, json.dumps(clean)),
            )
            self._change(owner, "contacts_set", None)

        self._write(tx)

    def get_contacts(self, owner: str) -> list[str]:
        row = self._one("SELECT emails FROM contacts WHERE owner = ?", (v.address(owner, "owner"),))
        return json.loads(row[0]) if row else []

    def link_doctor(self, owner: str, doctor_address: str, doctor_email: str) -> None:
        owner = v.address(owner, "owner")
        doctor = v.address(doctor_address, "doctor address")
        mail = v.email(doctor_email)

        def tx() -> None:
            self._conn.execute(
                "INSERT INTO doctors VALUES (?, ?, ?) ON CONFLICT(owner) "
                "DO UPDATE SET address = excluded.address, email = excluded.email",
                (owner, doctor, mail),
            )
            self._change(owner, "doctor_linked", None)

        self._write(tx)

    def get_doctor(self, owner: str) -> Doctor | None:
        row = self._one(
            "SELECT address, email FROM doctors WHERE owner = ?", (v.address(owner, "owner"),)
        )
        return Doctor(*row) if row else None

    def patients_of_doctor(self, doctor_address: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT owner FROM doctors WHERE address = ? ORDER BY owner",
                (v.address(doctor_address, "doctor address"),),
            ).fetchall()
        return [r[0] for r in rows]

    # ----------------------------------------------------------------------------- windows
    def put_window(
        self, owner: str, device_id: str, window_start_ms: int, payload: dict[str, Any]
    ) -> WindowRef:
        return self.put_windows([WindowInput(owner, device_id, window_start_ms, payload)])[0]

    def put_windows(self, windows: Sequence[WindowInput]) -> list[WindowRef]:
        prepared = []
        for w in windows:
            owner, dev = v.address(w.owner, "owner"), v.device_id(w.device_id)
            start = v.window_start(w.window_start_ms)
            prepared.append((owner, dev, start, v.encode_payload(w.payload)))
        ids = [v.window_record_id(self.namespace, dev, start) for _, dev, start, _ in prepared]
        with self._lock:
            existing = self._existing_window_hashes(ids)
            todo = {}  # record_id -> index of first occurrence not yet stored
            for i, rid in enumerate(ids):
                if rid not in existing and rid not in todo:
                    todo[rid] = i
            minted = self.envelope.mint(len(todo))
            rows = []
            for (rid, i), (key_ref, key, _) in zip(todo.items(), minted, strict=True):
                owner, dev, start, plain = prepared[i]
                sealed = crypto.seal(
                    key, plain, crypto.associated_data(self.namespace, rid, 1, owner)
                )
                rows.append((rid, owner, dev, start, 1, key_ref, sealed, crypto.sha256(sealed)))
            if rows:
                self.keys.put_many(wk for _, _, wk in minted)
            lost: list[str] = []

            def tx() -> list[str]:
                now, created = v.now_ms(), []
                for row in rows:
                    cur = self._conn.execute(
                        "INSERT INTO windows (record_id, owner, device_id, window_start_ms, "
                        "version, key_ref, ciphertext, ciphertext_sha256, created_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (*row, now),
                    )
                    if cur.rowcount == 1:
                        created.append(row[0])
                        self._change(row[1], "window_added", row[0])
                    else:
                        lost.append(row[5])  # another writer stored it first
                return created

            created = set(self._write(tx)) if rows else set()
            if lost:
                self.keys.destroy(lost)
            if len(created) != len(rows):
                existing = self._existing_window_hashes(ids)
            fresh = {r[0]: r[7] for r in rows if r[0] in created}
        out, seen = [], set()
        for rid in ids:
            if rid in fresh and rid not in seen:
                out.append(WindowRef(rid, fresh[rid], True))
            else:
                out.append(WindowRef(rid, existing[rid] if rid in existing else fresh[rid], False))
            seen.add(rid)
        return out

    def _existing_window_hashes(self, ids: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for rid, sha in self._conn.execute(
                f"SELECT record_id, ciphertext_sha256 FROM windows WHERE record_id IN ({marks})",
                chunk,
            ):
                found[rid] = bytes(sha)
        return found

    def get_window(
        self,
        record_id: str,
        *,
        expected_root: bytes | None = None,
        anchor_check: AnchorCheck | None = None,
    ) -> dict[str, Any]:
        row = self._one(
            "SELECT owner, version, key_ref, ciphertext, ciphertext_sha256, erased_ms, "
            "batch_root, proof FROM windows WHERE record_id = ?",
            (record_id,),
        )
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        owner, version, key_ref, sealed, stored_sha, erased, root, proof = row
        if erased or sealed is None:
            raise RecordErased(f"window record {record_id} was erased")
        actual = crypto.sha256(sealed)
        if actual != bytes(stored_sha):
            raise TamperDetected("ciphertext does not match its recorded sha256")
        v.check_window_anchor(
            actual,
            root and bytes(root),
            _unpack_proof(proof),
            expected_root,
            anchor_check,
        )
        key = self.envelope.load(key_ref)
        ad = crypto.associated_data(self.namespace, record_id, version, owner)
        return v.decode_payload(crypto.open_sealed(key, bytes(sealed), ad))

    def window_meta(self, record_id: str) -> WindowMeta:
        row = self._one(f"SELECT {_WINDOW_COLS} FROM windows WHERE record_id = ?", (record_id,))
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        return _meta(row)

    def list_windows(
        self, owner: str, since_ms: int | None = None, limit: int = 100
    ) -> list[WindowMeta]:
        owner = v.address(owner, "owner")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_WINDOW_COLS} FROM windows WHERE owner = ? AND window_start_ms >= ? "
                "ORDER BY window_start_ms, device_id LIMIT ?",
                (owner, since_ms or 0, max(0, int(limit))),
            ).fetchall()
        return [_meta(r) for r in rows]

    # ----------------------------------------------------------------------------- batches
    def record_batch(
        self,
        root: bytes,
        record_ids: list[str],
        proofs: list[list[bytes]],
        anchor_tx: str | None,
    ) -> None:
        if len(root) != 32 or not record_ids or len(record_ids) != len(proofs):
            raise InvalidInput("a batch is a 32-byte root and one proof per record id")

        def tx() -> None:
            owners: set[str] = set()
            for rid, proof in zip(record_ids, proofs, strict=True):
                row = self._conn.execute(
                    "SELECT owner, ciphertext_sha256, batch_root, anchored FROM windows "
                    "WHERE record_id = ?",
                    (rid,),
                ).fetchone()
                if row is None:
                    raise InvalidInput(f"batch names unknown window record {rid}")
                owner, sha, old_root, anchored = row
                if not merkle.verify(bytes(sha), proof, root):
                    raise InvalidInput(f"proof of {rid} does not lead to the batch root")
                if anchored and old_root is not None and bytes(old_root) != root:
                    raise Conflict(f"window record {rid} is already in another anchored batch")
                owners.add(owner)
                self._conn.execute(
                    "UPDATE windows SET batch_root = ?, proof = ?, anchored = ? "
                    "WHERE record_id = ?",
                    (root, b"".join(proof), int(anchor_tx is not None), rid),
                )
            self._conn.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?) ON CONFLICT(root) DO UPDATE SET "
                "anchor_tx = COALESCE(excluded.anchor_tx, batches.anchor_tx)",
                (root, json.dumps(record_ids), len(record_ids), anchor_tx, v.now_ms()),
            )
            if anchor_tx is not None:
                for owner in sorted(owners):
                    self._change(owner, "window_anchored", None)

        self._write(tx)

    def mark_batch_anchored(self, root: bytes, anchor_tx: str) -> None:
        batch = self.get_batch(root)
        if batch is None:
            raise RecordNotFound("no such batch")
        with self._lock:
            proofs = [(self.proof_of(rid) or (None, []))[1] for rid in batch.record_ids]
            self.record_batch(root, list(batch.record_ids), proofs, anchor_tx)

    def get_batch(self, root: bytes) -> Batch | None:
        row = self._one(
            "SELECT root, record_ids, anchor_tx, created_ms FROM batches WHERE root = ?", (root,)
        )
        if row is None:
            return None
        return Batch(bytes(row[0]), tuple(json.loads(row[1])), row[2], row[3])

    def proof_of(self, record_id: str) -> tuple[bytes, list[bytes]] | None:
        row = self._one("SELECT batch_root, proof FROM windows WHERE record_id = ?", (record_id,))
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        if row[0] is None:
            return None
        return bytes(row[0]), _unpack_proof(row[1]) or []

    def pending_unbatched(self, limit: int) -> list[WindowRef]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT record_id, ciphertext_sha256 FROM windows WHERE anchored = 0 "
                "AND erased_ms IS NULL ORDER BY created_ms, record_id LIMIT ?",
                (max(0, int(limit)),),
            ).fetchall()
        return [WindowRef(r[0], bytes(r[1]), False) for r in rows]

    # ----------------------------------------------------------------------------- bundles
    def put_bundle(
        self,
        owner: str,
        bundle_id: str,
        data_class: int,
        plaintext: bytes,
        *,
        version: int = 1,
        blobs: Any | None = None,
    ) -> SellableRecord:
        owner, bundle_id = v.address(owner, "owner"), v.bytes32_id(bundle_id, "bundle id")
        data_class, version = v.data_class(data_class), v.version(version)
        if not isinstance(plaintext, bytes | bytearray):
            raise InvalidInput("bundle plaintext must be bytes")
        with self._lock:
            old = self._one(
                "SELECT version, key_ref FROM bundles WHERE bundle_id = ?", (bundle_id,)
            )
            if old and version <= old[0]:
                raise Conflict(f"bundle already at version {old[0]}; a new version must be higher")
            [(key_ref, key, wrapped)] = self.envelope.mint(1)
            ad = crypto.associated_data(self.namespace, bundle_id, version, owner)
            sealed = crypto.seal(key, bytes(plaintext), ad)
            sha = crypto.sha256(sealed)
            if blobs is not None:
                pointer, stored = "ipfs://" + blobs.put(sealed), None
            else:
                pointer, stored = f"records://{self.namespace}/bundles/{bundle_id}", sealed
            self.keys.put_many([wrapped])
            now = v.now_ms()

            def tx() -> None:
                self._conn.execute(
                    "INSERT OR REPLACE INTO bundles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (bundle_id, owner, data_class, version, key_ref, pointer, stored, sha, now),
                )
                self._change(owner, "bundle_added", bundle_id)

            self._write(tx)
            if old:  # the previous version is crypto-shredded: only the registered one reads
                self.keys.destroy([old[1]])
        return SellableRecord(bundle_id, owner, pointer, sha, data_class, version, now)

    def bundle_meta(self, bundle_id: str) -> SellableRecord:
        row = self._one(
            "SELECT bundle_id, owner, pointer, ciphertext_sha256, data_class, version, created_ms, "
            "erased_ms FROM bundles WHERE bundle_id = ?",
            (v.bytes32_id(bundle_id, "bundle id"),),
        )
        if row is None:
            raise RecordNotFound(f"no bundle {bundle_id}")
        return SellableRecord(*row[:3], bytes(row[3]), *row[4:7], erased=bool(row[7]))

    def get_bundle(
        self, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None
    ) -> bytes:
        bundle_id = v.bytes32_id(bundle_id, "bundle id")
        row = self._one(
            "SELECT owner, version, key_ref, pointer, ciphertext, ciphertext_sha256, erased_ms "
            "FROM bundles WHERE bundle_id = ?",
            (bundle_id,),
        )
        if row is None:
            raise RecordNotFound(f"no bundle {bundle_id}")
        owner, version, key_ref, pointer, sealed, stored_sha, erased = row
        if erased:
            raise RecordErased(f"bundle {bundle_id} was erased")
        sealed = _fetch_sealed(pointer, sealed, blobs)
        _check_hash(crypto.sha256(sealed), bytes(stored_sha), expected_hash)
        key = self.envelope.load(key_ref)
        ad = crypto.associated_data(self.namespace, bundle_id, version, owner)
        return crypto.open_sealed(key, sealed, ad)

    def record_key(self, record_id: str) -> bytes:
        key_ref = self._key_ref_of(record_id)[1]
        return self.envelope.load(key_ref)

    def _key_ref_of(self, record_id: str) -> tuple[str, str, str]:
        """(table, key_ref, owner) of a window, bundle or dead letter."""
        for table, id_col, owner_col in (
            ("windows", "record_id", "owner"),
            ("bundles", "bundle_id", "owner"),
            ("dead_letters", "id", "kind"),
        ):
            row = self._one(
                f"SELECT key_ref, {owner_col} FROM {table} WHERE {id_col} = ?", (record_id,)
            )
            if row:
                return table, row[0], row[1]
        raise RecordNotFound(f"no record {record_id}")

    # ------------------------------------------------------------------------ dead letters
    def dead_letter(self, kind: str, payload: bytes, reason: str) -> str:
        kind, reason = v.kind(kind), v.reason(reason)
        if not isinstance(payload, bytes | bytearray):
            raise InvalidInput("dead-letter payload must be bytes")
        letter_id = os.urandom(16).hex()
        with self._lock:
            [(key_ref, key, wrapped)] = self.envelope.mint(1)
            ad = crypto.associated_data(self.namespace, letter_id, 1, DEAD_LETTER_OWNER)
            sealed = crypto.seal(key, bytes(payload), ad)
            self.keys.put_many([wrapped])
            self._write(
                lambda: self._conn.execute(
                    "INSERT INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (letter_id, kind, key_ref, sealed, crypto.sha256(payload), reason, v.now_ms()),
                )
            )
        return letter_id

    def dead_letters(self, kind: str | None = None) -> list[DeadLetter]:
        sql = (
            "SELECT id, kind, key_ref, ciphertext, payload_sha256, reason, at_ms FROM dead_letters"
        )
        args: tuple = ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (v.kind(kind),)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY at_ms, id", args).fetchall()
            keys = self.keys.get_many([r[2] for r in rows])
        out = []
        for lid, k, key_ref, sealed, digest, why, at in rows:
            payload = None
            if sealed is not None and key_ref in keys:
                key = self.envelope.keyring.unwrap(keys[key_ref])
                ad = crypto.associated_data(self.namespace, lid, 1, DEAD_LETTER_OWNER)
                payload = crypto.open_sealed(key, bytes(sealed), ad)
            out.append(DeadLetter(lid, k, payload, bytes(digest), why, at))
        return out

    # ---------------------------------------------------------------- erasure, key rotation
    def erase(self, record_id: str) -> None:
        with self._lock:
            table, key_ref, owner = self._key_ref_of(record_id)
            self._journal_erasure(record_id)
            # key first: if we stop half-way, the record is already unreadable
            self.keys.destroy([key_ref])
            id_col = {"windows": "record_id", "bundles": "bundle_id", "dead_letters": "id"}[table]
            erased_col = "" if table == "dead_letters" else ", erased_ms = COALESCE(erased_ms, ?)"
            args = () if table == "dead_letters" else (v.now_ms(),)

            def tx() -> None:
                self._conn.execute(
                    f"UPDATE {table} SET ciphertext = NULL{erased_col} WHERE {id_col} = ?",
                    (*args, record_id),
                )
                if table != "dead_letters":
                    kind = "window_erased" if table == "windows" else "bundle_erased"
                    self._change(owner, kind, record_id)

            self._write(tx)
            checkpoint_truncate(self._conn)

    def _journal_erasure(self, record_id: str) -> None:
        with open(self.erasure_journal, "a") as journal:
            journal.write(record_id + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    def reapply_erasures(self) -> int:
        if not self.erasure_journal.exists():
            return 0
        destroyed = 0
        with self._lock:
            for record_id in dict.fromkeys(self.erasure_journal.read_text().split()):
                try:
                    _, key_ref, _ = self._key_ref_of(record_id)
                except RecordNotFound:
                    continue  # the backup predates the record itself
                if self.keys.get(key_ref) is not None:
                    destroyed += 1
                self.erase(record_id)
        return destroyed

    def backup(self, records_dest: Path, keys_dest: Path | None = None) -> None:
        """Consistent online copies (SQLite backup API) of the records and keys databases.
        Keep the keys copy apart from the records copy (another medium, another access list)."""
        keys_dest = keys_dest or records_dest
        records_dest.mkdir(parents=True, exist_ok=True)
        keys_dest.mkdir(parents=True, exist_ok=True)
        with self._lock:
            _backup_db(self._conn, records_dest / "records.sqlite3")
            _backup_db(self.keys._conn, keys_dest / "keys.sqlite3")
        (records_dest / "chain.json").write_text(json.dumps(self.chain.canonical(), indent=2))

    def rotate_master_key(self, new_master_key: bytes) -> int:
        with self._lock:
            return self.envelope.rotate(new_master_key)

    # ------------------------------------------------------------------------ change stream
    def changes_since(self, owner: str, since: str | None, limit: int = 100) -> list[Change]:
        owner = v.address(owner, "owner")
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, owner, kind, record_id, at_ms FROM changes WHERE owner = ? "
                "AND seq > ? ORDER BY seq LIMIT ?",
                (owner, _cursor(since), max(0, int(limit))),
            ).fetchall()
        return [Change(str(r[0]), *r[1:]) for r in rows]

    def latest_cursor(self, owner: str) -> str | None:
        row = self._one(
            "SELECT MAX(seq) FROM changes WHERE owner = ?", (v.address(owner, "owner"),)
        )
        return str(row[0]) if row and row[0] is not None else None

    def watch(
        self, owner: str, since: str | None = None, *, stop: threading.Event | None = None
    ) -> Iterator[Change]:
        stop = stop or threading.Event()
        cursor = since if since is not None else (self.latest_cursor(owner) or "0")
        while not stop.is_set():
            batch = self.changes_since(owner, cursor)
            for change in batch:
                yield change
                cursor = change.cursor
            if not batch:
                stop.wait(self.poll_interval_s)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self.keys.close()


def _backup_db(source: sqlite3.Connection, path: Path) -> None:
    path.unlink(missing_ok=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()


def restore_sqlite(
    settings: RecordsSettings,
    chain: ChainIdentity,
    records_src: Path,
    keys_src: Path | None = None,
) -> int:
    """Put a backup in place (the store must be closed), then re-apply the erasure journal so
    records erased after the backup stay erased. Returns how many keys that destroyed."""
    keys_src = keys_src or records_src
    namespace = chain.namespace
    directory = settings.sqlite_dir / namespace
    key_directory = (settings.sqlite_key_dir or settings.sqlite_dir) / namespace
    directory.mkdir(parents=True, exist_ok=True)
    key_directory.mkdir(parents=True, exist_ok=True)
    for src, dest in ((records_src, directory), (keys_src, key_directory)):
        name = "records.sqlite3" if dest is directory else "keys.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            (dest / (name + suffix)).unlink(missing_ok=True)
        shutil.copyfile(src / name, dest / name)
    store = SqliteRecordStore.from_settings(settings, chain)
    try:
        return store.reapply_erasures()
    finally:
        store.close()


def _cursor(since: str | None) -> int:
    if since is None:
        return 0
    try:
        return int(since)
    except ValueError:
        raise InvalidInput("malformed change cursor") from None


def _unpack_proof(blob: bytes | None) -> list[bytes] | None:
    if blob is None:
        return None
    blob = bytes(blob)
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def _fetch_sealed(pointer: str, stored: bytes | None, blobs: Any | None) -> bytes:
    if stored is not None:
        return bytes(stored)
    if not pointer.startswith("ipfs://"):
        raise RecordErased("bundle ciphertext is gone")
    if blobs is None:
        raise InvalidInput("this bundle lives in a blob store: pass blobs=")
    from services.blobs.base import BlobNotFound, BlobTampered

    try:
        return blobs.get(pointer.removeprefix("ipfs://"))
    except BlobTampered as exc:
        raise TamperDetected(str(exc)) from None
    except BlobNotFound as exc:
        raise RecordNotFound(f"bundle ciphertext missing from the blob store: {exc}") from None


def _check_hash(actual: bytes, stored: bytes, expected: bytes | None) -> None:
    if expected is not None and actual != expected:
        raise TamperDetected("ciphertext does not match the registry's ciphertextHash")
    if actual != stored:
        raise TamperDetected("ciphertext does not match its recorded sha256")
