"""Window records and the batches that anchor them: written once for every backend.

Reading a window checks, in order: erased (journal) → the ciphertext's hash against its own batch
root (after batching, the chain is the authority) → the caller's anchor → the key (missing is not
erased) → the GCM tag. A failure of the record itself alerts and flags that window; a failure of
the caller's anchor is the caller's to report. Before a window is anchored its GCM tag is the
only authority: `pending_unbatched` authenticates every candidate, repairs a stored hash that
disagrees with an authentic ciphertext, and keeps inauthentic ones out of every batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.records import crypto, merkle
from services.records import validation as v
from services.records.base import (
    AnchorCheck,
    Batch,
    Conflict,
    InvalidInput,
    KeyMissing,
    RecordErased,
    RecordNotFound,
    TamperDetected,
    WindowInput,
    WindowMeta,
    WindowPartsFull,
    WindowRef,
)
from services.records.integrity import KEY_MISSING, REPAIRED, TAMPERED, IntegrityAlert
from services.records.tables import NewChange, Row, Write

if TYPE_CHECKING:
    from services.records.store import Store

META_FIELDS = ("owner", "device_id", "window_start_ms", "ciphertext_sha256", "created_ms",
               "batch_root", "erased_ms", "flag", "anchored")
# readings reaching storage after their window was written, kept as parts (add_to_window): a
# window closed apart this often is a fault to look into, not a pattern to keep up with
MAX_WINDOW_PARTS = 16
# what moving a window into a batch needs to know of it
BATCHING_FIELDS = ("owner", "batch_root", "anchored", "erased_ms", "flag")
# what authenticating a window needs
SEAL_FIELDS = ("owner", "version", "key_ref", "ciphertext", "ciphertext_sha256", "erased_ms",
               "batch_root", "proof", "anchored", "flag")


class WindowsMixin:
    # ----------------------------------------------------------------------------- write
    def put_window(
        self: Store, owner: str, device_id: str, window_start_ms: int, payload: dict[str, Any]
    ) -> WindowRef:
        return self.put_windows([WindowInput(owner, device_id, window_start_ms, payload)])[0]

    def put_windows(self: Store, windows: Sequence[WindowInput]) -> list[WindowRef]:
        prepared = []
        for w in windows:
            owner, device = v.address(w.owner, "owner"), v.device_id(w.device_id)
            start = v.window_start(w.window_start_ms)
            prepared.append((owner, device, start, v.encode_payload(w.payload)))
        ids = [v.window_record_id(self.namespace, dev, start) for _, dev, start, _ in prepared]
        existing = self._window_hashes(ids)
        todo: dict[str, int] = {}  # record id -> index of its first occurrence not stored yet
        for i, record_id in enumerate(ids):
            if record_id not in existing and record_id not in todo:
                todo[record_id] = i
        fresh = self._insert_windows([(record_id, *prepared[i]) for record_id, i in todo.items()])
        if len(fresh) < len(todo):  # another writer stored those windows first
            existing = self._window_hashes(ids)
        out, seen = [], set()
        for record_id in ids:
            if record_id in fresh and record_id not in seen:
                out.append(WindowRef(record_id, fresh[record_id], True))
            else:
                out.append(WindowRef(record_id, existing.get(record_id) or fresh[record_id], False))
            seen.add(record_id)
        return out

    def _insert_windows(self: Store, new: list[tuple[str, str, str, int, bytes]]
                        ) -> dict[str, bytes]:
        """Seal and insert (record id, owner, device, start, plaintext) records that no writer
        has stored yet; returns {record id: ciphertext hash} of those this call created."""
        if not new:
            return {}
        minted = self.envelope.mint(len(new))
        rows, now = [], v.now_ms()
        for (record_id, owner, device, start, plain), (key_ref, key, _) in zip(new, minted,
                                                                             strict=True):
            sealed = crypto.seal(key, plain, crypto.associated_data(self.namespace, record_id, 1, owner))
            rows.append((record_id, {
                "owner": owner, "device_id": device, "window_start_ms": start, "version": 1,
                "key_ref": key_ref, "ciphertext": sealed, "ciphertext_sha256": crypto.sha256(sealed),
                "created_ms": now, "erased_ms": None, "batch_root": None, "proof": None,
                "anchored": False, "pending": True, "flag": None,
            }, NewChange(owner, "window_added", record_id)))
        # keys first: a crash in between leaves an unused key, never a record without one
        self.keys.put_many(wrapped for _, _, wrapped in minted)
        created = self.tables.insert_new("windows", rows)
        lost = [fields["key_ref"] for record_id, fields, _ in rows if record_id not in created]
        if lost:  # another writer stored them first: ours are not needed
            self.keys.discard(lost)
        return {rid: fields["ciphertext_sha256"] for rid, fields, _ in rows if rid in created}

    def add_to_window(self: Store, window: WindowInput) -> tuple[WindowRef, int] | None:
        """Store the readings of `window` that none of its records holds yet, as the window's
        next part (validation.window_part_id); returns (the part's ref, readings in it), or None
        when every reading is held already or the patient erased the window.

        A window record is written once. Two aggregators that each closed a window (a split
        brain: each believed the other dead), or readings merged into an aggregator after it
        closed the window, reach storage after the record was written without them; they are
        health data the patient's device sent and a master acknowledged, so they are kept, not
        parked: a part is a window record of its own (same owner, device and start, anchored
        and erased like any), holding only readings no other part of the window holds. Each
        reading is in exactly one part: a part is created only if no writer created it first
        (`insert_new`), and a writer that lost reads the parts again and tries the next."""
        owner, device = v.address(window.owner, "owner"), v.device_id(window.device_id)
        start = v.window_start(window.window_start_ms)
        for _ in range(MAX_WINDOW_PARTS):
            held, parts = self._readings_held(device, start)
            if held is None:
                return None  # erased: what the patient erased is not written back
            missing = [r for r in window.payload["readings"] if r["seq"] not in held]
            if not missing:
                return None
            if parts >= MAX_WINDOW_PARTS:
                raise WindowPartsFull(f"window already has {MAX_WINDOW_PARTS} parts", missing)
            record_id = v.window_part_id(self.namespace, device, start, parts)
            plain = v.encode_payload(dict(window.payload, readings=missing))
            created = self._insert_windows([(record_id, owner, device, start, plain)])
            if record_id in created:
                return WindowRef(record_id, created[record_id], True), len(missing)
        raise Conflict(f"window parts kept changing while {MAX_WINDOW_PARTS} were tried")

    def _readings_held(self: Store, device: str, start: int) -> tuple[dict | None, int]:
        """({seq: reading} of the window's stored parts, how many parts there are); None for
        the readings when a part was erased. Parts are numbered without gaps (each is created
        only after every earlier one was read), so the first missing number ends them."""
        ids = [v.window_part_id(self.namespace, device, start, part)
               for part in range(MAX_WINDOW_PARTS)]
        stored = self.tables.get_many("windows", ids, fields=["erased_ms"])
        held: dict[int, dict] = {}
        parts = 0
        for record_id in ids:
            if record_id not in stored:
                break
            try:
                held.update((r["seq"], r) for r in self.get_window(record_id)["readings"])
            except RecordErased:
                return None, parts
            parts += 1
        return held, parts

    def conflicting_readings(self: Store, window: WindowInput) -> list[dict]:
        """The readings of `window` whose seq a stored part of the window holds with other
        content (a replay that reached each side of a split brain): add_to_window leaves them
        out, as the window store refuses a replay at ingest; the caller parks them."""
        device = v.device_id(window.device_id)
        held, _ = self._readings_held(device, v.window_start(window.window_start_ms))
        return [r for r in window.payload["readings"]
                if held and r["seq"] in held and held[r["seq"]] != r]

    def _window_hashes(self: Store, ids: list[str]) -> dict[str, bytes]:
        rows = self.tables.get_many("windows", ids, fields=["ciphertext_sha256"])
        return {rid: row["ciphertext_sha256"] for rid, row in rows.items()}

    # ------------------------------------------------------------------------------ read
    def get_window(
        self: Store,
        record_id: str,
        *,
        expected_root: bytes | None = None,
        anchor_check: AnchorCheck | None = None,
    ) -> dict[str, Any]:
        row = self.tables.get("windows", record_id) if isinstance(record_id, str) else None
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        if row.get("erased_ms") is not None:
            raise RecordErased(f"window record {record_id} was erased")
        sealed = self._sealed_window(row)
        actual = crypto.sha256(sealed)
        self._check_own_batch(row, actual)
        v.check_window_anchor(actual, row.get("batch_root"), _unpack_proof(row.get("proof")),
                              expected_root, anchor_check)
        plain = self._authenticate(row, sealed)
        self._settle(row, actual)
        return v.decode_payload(plain)

    def _sealed_window(self: Store, row: Row) -> bytes:
        sealed = row.get("ciphertext")
        if sealed is not None:
            return bytes(sealed)
        if self.tables.is_journaled(row["record_id"]):  # an erasure stopped half-way
            raise RecordErased(f"window record {row['record_id']} was erased")
        raise self._failure("windows", row, TAMPERED,
                            "the ciphertext is gone but the record was never erased")

    def _check_own_batch(self: Store, row: Row, actual: bytes) -> None:
        """Once in a batch, the ciphertext must lead to that batch's root (the record itself,
        whatever the caller's chain says: that check is `expected_root` / `anchor_check`)."""
        root = row.get("batch_root")
        if root is not None and not merkle.verify(actual, _unpack_proof(row.get("proof")) or [],
                                                  root):
            raise self._failure("windows", row, TAMPERED,
                                "the ciphertext's hash does not lead to its batch root")

    def _authenticate(self: Store, row: Row, sealed: bytes) -> bytes:
        key = self._data_key("windows", row)
        ad = crypto.associated_data(self.namespace, row["record_id"], row["version"], row["owner"])
        try:
            return crypto.open_sealed(key, sealed, ad)
        except TamperDetected:
            raise self._failure("windows", row, TAMPERED,
                                "authentication failed (ciphertext, nonce, tag or binding)")

    def _settle(self: Store, row: Row, actual: bytes) -> None:
        """After an authentic read: fix a stored hash that disagrees (the ciphertext is what the
        store wrote, and its own batch, if any, anchors that) and clear a stale flag."""
        if actual != row["ciphertext_sha256"]:
            self.integrity(IntegrityAlert(row["record_id"], REPAIRED,
                                          "stored hash disagreed with the authentic ciphertext",
                                          "windows"))
            self.tables.commit([Write("update", "windows", row["record_id"],
                                      {"ciphertext_sha256": actual})])
        if row.get("flag") is not None:
            self._set_flag(row, None)

    def window_meta(self: Store, record_id: str) -> WindowMeta:
        row = self.tables.get("windows", record_id, META_FIELDS) if isinstance(record_id, str) else None
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        return _meta(row)

    def list_windows(
        self: Store, owner: str, since_ms: int | None = None, limit: int = 100
    ) -> list[WindowMeta]:
        owner, limit = v.address(owner, "owner"), int(limit)
        if limit <= 0:
            return []
        since = v.window_start(since_ms or 0)
        return [_meta(r) for r in self.tables.windows_of(owner, since, limit, META_FIELDS)]

    def list_windows_of_owners(
        self: Store, owners: list[str], since_ms: int, until_ms: int
    ) -> list[WindowMeta]:
        since, until = v.window_start(max(0, since_ms)), int(until_ms)
        wanted = [v.address(owner, "owner") for owner in owners]
        if not wanted or until <= since:
            return []
        return [_meta(r) for r in self.tables.windows_of_owners(wanted, since, until, META_FIELDS)]

    def flagged_windows(self: Store, limit: int = 100) -> list[WindowMeta]:
        """Windows with an integrity flag (operators: `pulseledger records info`)."""
        return [_meta(r) for r in self.tables.flagged_windows(max(1, int(limit)), META_FIELDS)]

    def recheck_flagged(self: Store, limit: int = 1000) -> dict[str, str | None]:
        """Read every flagged window again: {record id: its flag now (None: sound, unflagged)}."""
        results: dict[str, str | None] = {}
        for meta in self.flagged_windows(limit):
            try:
                self.get_window(meta.record_id)
                results[meta.record_id] = None
            except (TamperDetected, KeyMissing) as error:
                results[meta.record_id] = KEY_MISSING if isinstance(error, KeyMissing) else TAMPERED
            except RecordErased:
                results[meta.record_id] = "erased"
        return results

    # --------------------------------------------------------------------------- batches
    def pending_unbatched(self: Store, limit: int) -> list[WindowRef]:
        """Up to `limit` windows waiting for an anchored batch, oldest first, each one
        authenticated first; fewer when some failed (they are flagged and left out)."""
        limit = int(limit)
        if limit <= 0:
            return []
        rows = self.tables.pending_windows(limit, SEAL_FIELDS)
        return self._screen(rows)

    def pending_count(self: Store, limit: int = 1000) -> int:
        """How many windows wait for an anchored batch, counting up to `limit` (no checks)."""
        return len(self.tables.pending_windows(max(1, int(limit)), ["created_ms"]))

    def _screen(self: Store, rows: list[Row]) -> list[WindowRef]:
        wrapped = self.keys.get_many([r["key_ref"] for r in rows])
        good = []
        for row in rows:
            try:
                actual = self._screen_one(row, wrapped)
            except (TamperDetected, KeyMissing, RecordErased):
                continue  # flagged and alerted, or erased meanwhile: not in this batch
            good.append(WindowRef(row["record_id"], actual, False))
        return good

    def _screen_one(self: Store, row: Row, wrapped: dict) -> bytes:
        if row.get("erased_ms") is not None:
            raise RecordErased(row["record_id"])
        sealed = self._sealed_window(row)
        if row["key_ref"] not in wrapped:
            if self.tables.is_journaled(row["record_id"]):
                raise RecordErased(row["record_id"])
            raise self._failure("windows", row, KEY_MISSING,
                                "the record key is gone but the erasure journal does not list it")
        key = self._unwrap_or_flag(row, wrapped[row["key_ref"]])
        ad = crypto.associated_data(self.namespace, row["record_id"], row["version"], row["owner"])
        try:
            crypto.open_sealed(key, sealed, ad)
        except TamperDetected:
            raise self._failure("windows", row, TAMPERED,
                                "authentication failed before anchoring: kept out of batches")
        actual = crypto.sha256(sealed)
        self._check_own_batch(row, actual)  # in a batch built but not anchored yet
        self._settle(row, actual)
        return actual

    def _unwrap_or_flag(self: Store, row: Row, wrapped) -> bytes:
        try:
            return self.envelope.ring.unwrap(wrapped)
        except TamperDetected:
            raise self._failure("windows", row, TAMPERED, "the wrapped key failed authentication")

    def record_batch(
        self: Store,
        root: bytes,
        record_ids: list[str],
        proofs: list[list[bytes]],
        anchor_tx: str | None,
    ) -> None:
        if (not isinstance(root, bytes) or len(root) != 32 or not record_ids
                or len(record_ids) != len(proofs)):
            raise InvalidInput("a batch is a 32-byte root and one proof per record id")
        rows = self.tables.get_many("windows", record_ids,
                                    ["owner", "ciphertext_sha256", "batch_root", "anchored"])
        for record_id, proof in zip(record_ids, proofs, strict=True):
            row = rows.get(record_id)
            if row is None:
                raise InvalidInput(f"batch names unknown window record {record_id}")
            if not merkle.verify(row["ciphertext_sha256"], proof, root):
                raise InvalidInput(f"proof of {record_id} does not lead to the batch root")
            _refuse_moving(row, root)
        members = list(zip(record_ids, proofs, strict=True))
        size = self.tables.max_txn_rows or len(members)
        chunks = [members[i : i + size] for i in range(0, len(members), size)]
        announced: set[str] = set()  # each owner hears of the anchoring once, in one chunk
        for n, chunk in enumerate(chunks):
            owners = sorted({rows[rid]["owner"] for rid, _ in chunk} - announced)
            announced.update(owners)
            self.tables.transact(lambda txn, chunk=chunk, owners=owners, n=n: _write_batch_chunk(
                txn, root, record_ids, chunk, anchor_tx, owners, last=n == len(chunks) - 1))

    def mark_batch_anchored(self: Store, root: bytes, anchor_tx: str) -> None:
        batch = self.get_batch(root)
        if batch is None:
            raise RecordNotFound("no such batch")
        rows = self.tables.get_many("windows", list(batch.record_ids), ["proof"])
        proofs = [_unpack_proof(rows.get(rid, {}).get("proof")) or [] for rid in batch.record_ids]
        self.record_batch(root, list(batch.record_ids), proofs, anchor_tx)

    def get_batch(self: Store, root: bytes) -> Batch | None:
        row = self.tables.get("batches", bytes(root).hex())
        if row is None:
            return None
        return Batch(bytes.fromhex(row["root"]), tuple(row["record_ids"]), row.get("anchor_tx"),
                     row["created_ms"])

    def proof_of(self: Store, record_id: str) -> tuple[bytes, list[bytes]] | None:
        row = self.tables.get("windows", record_id, ["batch_root", "proof"])
        if row is None:
            raise RecordNotFound(f"no window record {record_id}")
        if row.get("batch_root") is None:
            return None
        return row["batch_root"], _unpack_proof(row.get("proof")) or []


def _write_batch_chunk(txn, root: bytes, record_ids: list[str], chunk: list,
                       anchor_tx: str | None, owners: list[str], last: bool) -> None:
    """One transaction: re-check (a concurrent batcher may have anchored a member meanwhile),
    then move the chunk's windows into the batch; the last chunk writes the batch itself."""
    anchored = anchor_tx is not None
    current = txn.get_many("windows", [rid for rid, _ in chunk], BATCHING_FIELDS)
    batch = txn.get("batches", root.hex()) if last else None
    for record_id, _ in chunk:
        if record_id not in current:
            raise InvalidInput(f"batch names unknown window record {record_id}")
        _refuse_moving(current[record_id], root)
    for record_id, proof in chunk:
        row = current[record_id]
        waiting = not anchored and row.get("erased_ms") is None and row.get("flag") is None
        txn.write(Write("update", "windows", record_id, {
            "batch_root": root, "proof": b"".join(proof), "anchored": anchored,
            "pending": waiting}))
    if last:
        txn.write(Write("set", "batches", root.hex(), {
            "record_ids": list(record_ids), "leaf_count": len(record_ids),
            "anchor_tx": anchor_tx or (batch or {}).get("anchor_tx"),
            "created_ms": (batch or {}).get("created_ms") or v.now_ms()}))
    if anchored:
        for owner in owners:
            txn.change(NewChange(owner, "window_anchored"))


def _refuse_moving(row: Row, root: bytes) -> None:
    if row.get("anchored") and row.get("batch_root") not in (None, root):
        raise Conflict(f"window record {row['record_id']} is already in another anchored batch")


def _meta(row: Row) -> WindowMeta:
    return WindowMeta(row["record_id"], row["owner"], row["device_id"], row["window_start_ms"],
                      row["ciphertext_sha256"], row["created_ms"], row.get("batch_root"),
                      row.get("erased_ms") is not None, row.get("flag"),
                      bool(row.get("anchored")))


def _unpack_proof(blob: bytes | None) -> list[bytes] | None:
    if blob is None:
        return None
    blob = bytes(blob)
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]
