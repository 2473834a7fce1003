"""The Firestore record store (google-cloud-firestore); tests run it against the official emulator.

Layout (one namespace per chain identity, so another chain never mixes state):

    {prefix}_chains/{namespace}                          chain identity
        windows/{record_id}  bundles/{bundle_id}  batches/{root hex}
        devices/{device_id}  contacts/{owner}  doctors/{owner}  dead_letters/{id}
        owners/{owner}/changes/{cursor}                  the change stream (on_snapshot)
    {prefix}_keys/{namespace}/record_keys/{key_ref}      wrapped keys — optionally in another
                                                         database (`firestore_key_database`)

Idempotent puts use `create()` (fails if the document exists): a writer that loses the race
deletes the key it minted and returns the existing record. Queries that need composite indexes
in production are listed in docs/records.md (the emulator does not enforce them).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

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
from services.records.keystore import Envelope, Keyring, KeyStorage, WrappedKey
from services.records.settings import RecordsSettings
from services.records.sqlite_store import DEAD_LETTER_OWNER, _check_hash, _fetch_sealed

MAX_WRITES_PER_BATCH = 500
MAX_INLINE_BUNDLE_BYTES = 900 * 1024  # a Firestore document holds at most 1 MiB
_env_lock = threading.Lock()


def make_client(project: str, database: str, emulator_host: str | None) -> firestore.Client:
    """A client; `emulator_host` applies to this client only (the library reads the env var
    once, in the constructor)."""
    if emulator_host is None:
        return firestore.Client(project=project, database=database)
    with _env_lock:
        previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host
        try:
            return firestore.Client(project=project, database=database)
        finally:
            if previous is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = previous


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class FirestoreKeyStorage(KeyStorage):
    def __init__(self, client: firestore.Client, prefix: str, namespace: str) -> None:
        self._client = client
        self._col = (
            client.collection(f"{prefix}_keys").document(namespace).collection("record_keys")
        )

    def _write(self, keys: Iterable[WrappedKey], op: str) -> None:
        for chunk in _chunks(list(keys), MAX_WRITES_PER_BATCH):
            batch = self._client.batch()
            for k in chunk:
                data = {"kek_id": k.kek_id, "wrapped": k.wrapped}
                getattr(batch, op)(self._col.document(k.key_ref), data)
            batch.commit()

    def put_many(self, keys: Iterable[WrappedKey]) -> None:
        self._write(keys, "create")

    def replace_many(self, keys: Iterable[WrappedKey]) -> None:
        self._write(keys, "update")

    def get(self, key_ref: str) -> WrappedKey | None:
        snap = self._col.document(key_ref).get()
        if not snap.exists:
            return None
        return WrappedKey(key_ref, snap.get("kek_id"), snap.get("wrapped"))

    def get_many(self, key_refs: list[str]) -> dict[str, WrappedKey]:
        out = {}
        for snap in self._client.get_all([self._col.document(r) for r in key_refs]):
            if snap.exists:
                out[snap.id] = WrappedKey(snap.id, snap.get("kek_id"), snap.get("wrapped"))
        return out

    def destroy(self, key_refs: list[str]) -> None:
        for chunk in _chunks(list(key_refs), MAX_WRITES_PER_BATCH):
            batch = self._client.batch()
            for ref in chunk:
                batch.delete(self._col.document(ref))
            batch.commit()

    def scan(self) -> Iterator[WrappedKey]:
        for snap in self._col.stream():
            yield WrappedKey(snap.id, snap.get("kek_id"), snap.get("wrapped"))


def _meta(snap) -> WindowMeta:
    d = snap.to_dict()
    return WindowMeta(
        snap.id,
        d["owner"],
        d["device_id"],
        d["window_start_ms"],
        d["ciphertext_sha256"],
        d["created_ms"],
        d.get("batch_root"),
        d.get("erased_ms") is not None,
    )


def _new_cursor() -> str:
    # time-ordered and unique across writers; the stream orders by it
    return f"{time.time_ns():020d}-{os.urandom(4).hex()}"


class FirestoreRecordStore(RecordStore):
    def __init__(
        self,
        client: firestore.Client,
        chain: ChainIdentity,
        keyring: Keyring,
        *,
        key_client: firestore.Client | None = None,
        prefix: str = "pulseledger",
    ) -> None:
        self.chain = chain
        self.namespace = chain.namespace
        self._client = client
        self._root = client.collection(f"{prefix}_chains").document(self.namespace)
        self._root.set({"chain": json.dumps(chain.canonical())}, merge=True)
        self.keys = FirestoreKeyStorage(key_client or client, prefix, self.namespace)
        self.envelope = Envelope(keyring, self.keys)
        self._lock = threading.RLock()  # only for the rotation; Firestore does the rest

    @classmethod
    def from_settings(cls, settings: RecordsSettings, chain: ChainIdentity) -> FirestoreRecordStore:
        host = settings.firestore_emulator_host or os.environ.get("FIRESTORE_EMULATOR_HOST")
        client = make_client(settings.firestore_project, settings.firestore_database, host)
        key_client = None
        if settings.firestore_key_database:
            key_client = make_client(
                settings.firestore_project, settings.firestore_key_database, host
            )
        keyring = Keyring(settings.load_master_key(), settings.load_previous_master_keys())
        return cls(client, chain, keyring, key_client=key_client, prefix=settings.firestore_prefix)

    def _col(self, name: str):
        return self._root.collection(name)

    def _changes(self, owner: str):
        return self._root.collection("owners").document(owner).collection("changes")

    def _add_change(self, batch, owner: str, kind: str, record_id: str | None) -> None:
        cursor = _new_cursor()
        batch.set(
            self._changes(owner).document(cursor),
            {"cursor": cursor, "kind": kind, "record_id": record_id, "at_ms": v.now_ms()},
        )

    def _commit_change(self, owner: str, kind: str, record_id: str | None, *writes) -> None:
        batch = self._client.batch()
        for op, ref, data in writes:
            getattr(batch, op)(ref, data) if data is not None else getattr(batch, op)(ref)
        self._add_change(batch, owner, kind, record_id)
        batch.commit()

    # ------------------------------------------------------------------------- onboarding
    def register_device(self, device_id: str, owner: str, public_key: bytes) -> None:
        device_id, owner = v.device_id(device_id), v.address(owner, "owner")
        public_key = v.public_key(public_key)
        ref = self._col("devices").document(device_id)

        @firestore.transactional
        def tx(transaction) -> None:
            snap = ref.get(transaction=transaction)
            if snap.exists and snap.get("owner") != owner:
                raise Conflict("device is registered to another owner")
            transaction.set(
                ref, {"owner": owner, "public_key": public_key, "registered_ms": v.now_ms()}
            )
            cursor = _new_cursor()
            transaction.set(
                self._changes(owner).document(cursor),
                {
                    "cursor": cursor,
                    "kind": "device_registered",
                    "record_id": device_id,
                    "at_ms": v.now_ms(),
                },
            )

        tx(self._client.transaction())

    def get_device(self, device_id: str) -> Device | None:
        snap = self._col("devices").document(v.device_id(device_id)).get()
        return Device(snap.id, snap.get("owner"), snap.get("public_key")) if snap.exists else None

    def devices_of(self, owner: str) -> list[Device]:
        q = self._col("devices").where(filter=FieldFilter("owner", "==", v.address(owner, "owner")))
        devices = [Device(s.id, s.get("owner"), s.get("public_key")) for s in q.stream()]
        return sorted(devices, key=lambda d: d.device_id)

    def set_contacts(self, owner: str, emails: list[str]) -> None:
        owner = v.address(owner, "owner")
        clean = list(dict.fromkeys(v.email(e) for e in emails))
        ref = self._col("contacts").document(owner)
        self._commit_change(owner, "contacts_set", None, ("set", ref, {"emails": clean}))

    def get_contacts(self, owner: str) -> list[str]:
        snap = self._col("contacts").document(v.address(owner, "owner")).get()
        return list(snap.get("emails")) if snap.exists else []

    def link_doctor(self, owner: str, doctor_address: str, doctor_email: str) -> None:
        owner = v.address(owner, "owner")
        data = {
            "address": v.address(doctor_address, "doctor address"),
            "email": v.email(doctor_email),
        }
        ref = self._col("doctors").document(owner)
        self._commit_change(owner, "doctor_linked", None, ("set", ref, data))

    def get_doctor(self, owner: str) -> Doctor | None:
        snap = self._col("doctors").document(v.address(owner, "owner")).get()
        return Doctor(snap.get("address"), snap.get("email")) if snap.exists else None

    def patients_of_doctor(self, doctor_address: str) -> list[str]:
        address = v.address(doctor_address, "doctor address")
        q = self._col("doctors").where(filter=FieldFilter("address", "==", address))
        return sorted(s.id for s in q.stream())

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
        existing = self._existing_hashes(ids)
        todo: dict[str, int] = {}
        for i, rid in enumerate(ids):
            if rid not in existing and rid not in todo:
                todo[rid] = i
        minted = self.envelope.mint(len(todo))
        docs = []
        now = v.now_ms()
        for (rid, i), (key_ref, key, _) in zip(todo.items(), minted, strict=True):
            owner, dev, start, plain = prepared[i]
            sealed = crypto.seal(key, plain, crypto.associated_data(self.namespace, rid, 1, owner))
            docs.append(
                (
                    rid,
                    owner,
                    {
                        "owner": owner,
                        "device_id": dev,
                        "window_start_ms": start,
                        "version": 1,
                        "key_ref": key_ref,
                        "ciphertext": sealed,
                        "ciphertext_sha256": crypto.sha256(sealed),
                        "created_ms": now,
                        "erased_ms": None,
                        "batch_root": None,
                        "proof": None,
                        "anchored": False,
                    },
                )
            )
        if docs:
            self.keys.put_many(wk for _, _, wk in minted)
        created: set[str] = set()
        lost: list[str] = []
        for chunk in _chunks(docs, MAX_WRITES_PER_BATCH // 2):
            try:
                self._create_windows(chunk)
                created.update(rid for rid, _, _ in chunk)
            except AlreadyExists:  # someone else stored one of them: go one by one
                for doc in chunk:
                    try:
                        self._create_windows([doc])
                        created.add(doc[0])
                    except AlreadyExists:
                        lost.append(doc[2]["key_ref"])
        if lost:
            self.keys.destroy(lost)
            existing = self._existing_hashes(ids)
        fresh = {rid: d["ciphertext_sha256"] for rid, _, d in docs if rid in created}
        out, seen = [], set()
        for rid in ids:
            if rid in fresh and rid not in seen:
                out.append(WindowRef(rid, fresh[rid], True))
            else:
                out.append(WindowRef(rid, existing.get(rid) or fresh[rid], False))
            seen.add(rid)
        return out

    def _create_windows(self, docs: list) -> None:
        batch = self._client.batch()
        for rid, owner, data in docs:
            batch.create(self._col("windows").document(rid), data)
            self._add_change(batch, owner, "window_added", rid)
        batch.commit()

    def _existing_hashes(self, ids: list[str]) -> dict[str, bytes]:
        refs = [self._col("windows").document(r) for r in dict.fromkeys(ids)]
        found = {}
        for chunk in _chunks(refs, 300):
            for snap in self._client.get_all(chunk, field_paths=["ciphertext_sha256"]):
                if snap.exists:
                    found[snap.id] = snap.get("ciphertext_sha256")
        return found

    def _window(self, record_id: str):
        snap = self._col("windows").document(record_id).get()
        if not snap.exists:
            raise RecordNotFound(f"no window record {record_id}")
        return snap

    def get_window(
        self,
        record_id: str,
        *,
        expected_root: bytes | None = None,
        anchor_check: AnchorCheck | None = None,
    ) -> dict[str, Any]:
        d = self._window(record_id).to_dict()
        sealed = d.get("ciphertext")
        if d.get("erased_ms") is not None or sealed is None:
            raise RecordErased(f"window record {record_id} was erased")
        actual = crypto.sha256(sealed)
        if actual != d["ciphertext_sha256"]:
            raise TamperDetected("ciphertext does not match its recorded sha256")
        proof = d.get("proof")
        v.check_window_anchor(
            actual,
            d.get("batch_root"),
            None if proof is None else [proof[i : i + 32] for i in range(0, len(proof), 32)],
            expected_root,
            anchor_check,
        )
        key = self.envelope.load(d["key_ref"])
        ad = crypto.associated_data(self.namespace, record_id, d["version"], d["owner"])
        return v.decode_payload(crypto.open_sealed(key, sealed, ad))

    def window_meta(self, record_id: str) -> WindowMeta:
        return _meta(self._window(record_id))

    def list_windows(
        self, owner: str, since_ms: int | None = None, limit: int = 100
    ) -> list[WindowMeta]:
        q = (
            self._col("windows")
            .where(filter=FieldFilter("owner", "==", v.address(owner, "owner")))
            .where(filter=FieldFilter("window_start_ms", ">=", since_ms or 0))
            .order_by("window_start_ms")
            .limit(max(0, int(limit)))
        )
        return [_meta(s) for s in q.stream()]

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
        refs = [self._col("windows").document(r) for r in record_ids]
        snaps = {}
        for chunk in _chunks(refs, 300):
            snaps.update({s.id: s for s in self._client.get_all(chunk)})
        owners: set[str] = set()
        for rid, proof in zip(record_ids, proofs, strict=True):
            snap = snaps.get(rid)
            if snap is None or not snap.exists:
                raise InvalidInput(f"batch names unknown window record {rid}")
            if not merkle.verify(snap.get("ciphertext_sha256"), proof, root):
                raise InvalidInput(f"proof of {rid} does not lead to the batch root")
            old = snap.to_dict()
            if old.get("anchored") and old.get("batch_root") not in (None, root):
                raise Conflict(f"window record {rid} is already in another anchored batch")
            owners.add(old["owner"])
        batch_ref = self._col("batches").document(root.hex())
        batch_data: dict[str, Any] = {
            "record_ids": list(record_ids),
            "leaf_count": len(record_ids),
            "created_ms": v.now_ms(),
        }
        if anchor_tx is not None:
            batch_data["anchor_tx"] = anchor_tx
        writes = [("set", batch_ref, batch_data)]
        for rid, proof in zip(record_ids, proofs, strict=True):
            update = {
                "batch_root": root,
                "proof": b"".join(proof),
                "anchored": anchor_tx is not None,
            }
            writes.append(("update", self._col("windows").document(rid), update))
        for chunk in _chunks(writes, MAX_WRITES_PER_BATCH - 50):
            batch = self._client.batch()
            for op, ref, data in chunk:
                if op == "set":
                    batch.set(ref, data, merge=True)
                else:
                    batch.update(ref, data)
            batch.commit()
        if anchor_tx is not None:
            batch = self._client.batch()
            for owner in sorted(owners):
                self._add_change(batch, owner, "window_anchored", None)
            batch.commit()

    def mark_batch_anchored(self, root: bytes, anchor_tx: str) -> None:
        batch = self.get_batch(root)
        if batch is None:
            raise RecordNotFound("no such batch")
        proofs = [(self.proof_of(rid) or (None, []))[1] for rid in batch.record_ids]
        self.record_batch(root, list(batch.record_ids), proofs, anchor_tx)

    def get_batch(self, root: bytes) -> Batch | None:
        snap = self._col("batches").document(root.hex()).get()
        if not snap.exists:
            return None
        d = snap.to_dict()
        return Batch(root, tuple(d["record_ids"]), d.get("anchor_tx"), d["created_ms"])

    def proof_of(self, record_id: str) -> tuple[bytes, list[bytes]] | None:
        d = self._window(record_id).to_dict()
        if d.get("batch_root") is None:
            return None
        proof = d.get("proof") or b""
        return d["batch_root"], [proof[i : i + 32] for i in range(0, len(proof), 32)]

    def pending_unbatched(self, limit: int) -> list[WindowRef]:
        q = (
            self._col("windows")
            .where(filter=FieldFilter("anchored", "==", False))
            .where(filter=FieldFilter("erased_ms", "==", None))
            .order_by("created_ms")
            .limit(max(0, int(limit)))
        )
        return [WindowRef(s.id, s.get("ciphertext_sha256"), False) for s in q.stream()]

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
        ref = self._col("bundles").document(bundle_id)
        old = ref.get()
        if old.exists and version <= old.get("version"):
            raise Conflict(f"bundle already at version {old.get('version')}; must be higher")
        [(key_ref, key, wrapped)] = self.envelope.mint(1)
        ad = crypto.associated_data(self.namespace, bundle_id, version, owner)
        sealed = crypto.seal(key, bytes(plaintext), ad)
        sha = crypto.sha256(sealed)
        if blobs is not None:
            pointer, stored = "ipfs://" + blobs.put(sealed), None
        elif len(sealed) > MAX_INLINE_BUNDLE_BYTES:
            raise InvalidInput("bundle too large for a Firestore document: pass blobs=")
        else:
            pointer = f"records://{self.namespace}/bundles/{bundle_id}"
            stored = sealed
        self.keys.put_many([wrapped])
        now = v.now_ms()
        data = {
            "owner": owner,
            "data_class": data_class,
            "version": version,
            "key_ref": key_ref,
            "pointer": pointer,
            "ciphertext": stored,
            "ciphertext_sha256": sha,
            "created_ms": now,
            "erased_ms": None,
        }
        self._commit_change(owner, "bundle_added", bundle_id, ("set", ref, data))
        if old.exists:
            self.keys.destroy([old.get("key_ref")])
        return SellableRecord(bundle_id, owner, pointer, sha, data_class, version, now)

    def _bundle(self, bundle_id: str):
        snap = self._col("bundles").document(v.bytes32_id(bundle_id, "bundle id")).get()
        if not snap.exists:
            raise RecordNotFound(f"no bundle {bundle_id}")
        return snap

    def bundle_meta(self, bundle_id: str) -> SellableRecord:
        snap = self._bundle(bundle_id)
        d = snap.to_dict()
        return SellableRecord(
            snap.id,
            d["owner"],
            d["pointer"],
            d["ciphertext_sha256"],
            d["data_class"],
            d["version"],
            d["created_ms"],
            erased=d.get("erased_ms") is not None,
        )

    def get_bundle(
        self, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None
    ) -> bytes:
        snap = self._bundle(bundle_id)
        d = snap.to_dict()
        if d.get("erased_ms") is not None:
            raise RecordErased(f"bundle {bundle_id} was erased")
        sealed = _fetch_sealed(d["pointer"], d.get("ciphertext"), blobs)
        _check_hash(crypto.sha256(sealed), d["ciphertext_sha256"], expected_hash)
        key = self.envelope.load(d["key_ref"])
        ad = crypto.associated_data(self.namespace, snap.id, d["version"], d["owner"])
        return crypto.open_sealed(key, sealed, ad)

    def record_key(self, record_id: str) -> bytes:
        return self.envelope.load(self._locate(record_id)[1].get("key_ref"))

    def _locate(self, record_id: str):
        for name in ("windows", "bundles", "dead_letters"):
            snap = self._col(name).document(record_id).get()
            if snap.exists:
                return name, snap
        raise RecordNotFound(f"no record {record_id}")

    # ------------------------------------------------------------------------ dead letters
    def dead_letter(self, kind: str, payload: bytes, reason: str) -> str:
        kind, reason = v.kind(kind), v.reason(reason)
        if not isinstance(payload, bytes | bytearray):
            raise InvalidInput("dead-letter payload must be bytes")
        letter_id = os.urandom(16).hex()
        [(key_ref, key, wrapped)] = self.envelope.mint(1)
        ad = crypto.associated_data(self.namespace, letter_id, 1, DEAD_LETTER_OWNER)
        sealed = crypto.seal(key, bytes(payload), ad)
        if len(sealed) > MAX_INLINE_BUNDLE_BYTES:
            sealed = None  # too big to keep: the digest and the reason still are
        self.keys.put_many([wrapped])
        self._col("dead_letters").document(letter_id).create(
            {
                "kind": kind,
                "key_ref": key_ref,
                "ciphertext": sealed,
                "payload_sha256": crypto.sha256(bytes(payload)),
                "reason": reason,
                "at_ms": v.now_ms(),
            }
        )
        return letter_id

    def dead_letters(self, kind: str | None = None) -> list[DeadLetter]:
        q = self._col("dead_letters")
        if kind is not None:
            q = q.where(filter=FieldFilter("kind", "==", v.kind(kind)))
        snaps = sorted(q.stream(), key=lambda s: (s.get("at_ms"), s.id))
        keys = self.keys.get_many([s.get("key_ref") for s in snaps]) if snaps else {}
        out = []
        for s in snaps:
            d = s.to_dict()
            payload = None
            if d.get("ciphertext") is not None and d["key_ref"] in keys:
                key = self.envelope.keyring.unwrap(keys[d["key_ref"]])
                ad = crypto.associated_data(self.namespace, s.id, 1, DEAD_LETTER_OWNER)
                payload = crypto.open_sealed(key, d["ciphertext"], ad)
            out.append(
                DeadLetter(s.id, d["kind"], payload, d["payload_sha256"], d["reason"], d["at_ms"])
            )
        return out

    # ---------------------------------------------------------------- erasure, key rotation
    def erase(self, record_id: str) -> None:
        name, snap = self._locate(record_id)
        # journal first, outside the record: an import of an older export does not delete it
        self._col("erasures").document(record_id).set({"at_ms": v.now_ms()})
        self.keys.destroy([snap.get("key_ref")])  # key first: half-done still means unreadable
        if name == "dead_letters":
            snap.reference.update({"ciphertext": None})
            return
        d = snap.to_dict()
        update = {"ciphertext": None, "erased_ms": d.get("erased_ms") or v.now_ms()}
        kind = "window_erased" if name == "windows" else "bundle_erased"
        self._commit_change(d["owner"], kind, record_id, ("update", snap.reference, update))

    def reapply_erasures(self) -> int:
        destroyed = 0
        for entry in self._col("erasures").stream():
            try:
                _, snap = self._locate(entry.id)
            except RecordNotFound:
                continue
            if self.keys.get(snap.get("key_ref")) is not None:
                destroyed += 1
            self.erase(entry.id)
        return destroyed

    def rotate_master_key(self, new_master_key: bytes) -> int:
        with self._lock:
            return self.envelope.rotate(new_master_key)

    # ------------------------------------------------------------------------ change stream
    def changes_since(self, owner: str, since: str | None, limit: int = 100) -> list[Change]:
        owner = v.address(owner, "owner")
        q = self._changes(owner).order_by("cursor")
        if since is not None:
            q = q.where(filter=FieldFilter("cursor", ">", since))
        return [self._to_change(owner, s.to_dict()) for s in q.limit(max(0, int(limit))).stream()]

    @staticmethod
    def _to_change(owner: str, d: dict) -> Change:
        return Change(d["cursor"], owner, d["kind"], d.get("record_id"), d["at_ms"])

    def latest_cursor(self, owner: str) -> str | None:
        q = self._changes(v.address(owner, "owner")).order_by(
            "cursor", direction=firestore.Query.DESCENDING
        )
        snaps = list(q.limit(1).stream())
        return snaps[0].get("cursor") if snaps else None

    def watch(
        self, owner: str, since: str | None = None, *, stop: threading.Event | None = None
    ) -> Iterator[Change]:
        """on_snapshot listener → queue → generator, yielding changes after `start` once each.
        The listener may redeliver every document (its initial snapshot, a stream reset), so
        the cursor filter and the `seen` set apply to every callback. Cursors are writer clock
        times: keep writers' clocks in sync (NTP) or a change stamped earlier than `start` by
        a lagging clock is not streamed (it is still listed by `changes_since`)."""
        owner = v.address(owner, "owner")
        stop = stop or threading.Event()
        start = since if since is not None else (self.latest_cursor(owner) or "")
        events: queue.Queue[Change] = queue.Queue()
        seen: set[str] = set()

        def on_snapshot(_docs, changes, _read_time) -> None:
            added = sorted(
                (c.document.to_dict() for c in changes if c.type.name == "ADDED"),
                key=lambda d: d["cursor"],
            )
            for d in added:
                if d["cursor"] > start:
                    events.put(self._to_change(owner, d))

        listener = self._changes(owner).on_snapshot(on_snapshot)
        try:
            while not stop.is_set():
                try:
                    change = events.get(timeout=0.1)
                except queue.Empty:
                    continue
                if change.cursor not in seen:
                    seen.add(change.cursor)
                    yield change
        finally:
            listener.unsubscribe()

    def close(self) -> None:
        self._client.close()
