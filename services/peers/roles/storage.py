"""Storage: writes each window record (readings + prediction) to the record store, idempotent
on (device, window); and, on one storage peer at a time (the one closest to the key "anchor"),
anchors the Merkle root of each batch of new records and keeps every record's inclusion proof."""

from __future__ import annotations

import json
import logging
import time

import trio

from services.peers.anchoring import DeploymentMismatch
from services.peers.assignment import ranked
from services.peers.attestation import AttestationCheck
from services.peers.messages.windows import STORE, StoreReply, StoreRequest
from services.records import (
    InvalidInput,
    KeyMissing,
    TamperDetected,
    WindowInput,
    WindowPartsFull,
    merkle,
)
from services.records.window_payload import build_window_payload

log = logging.getLogger(__name__)


class StorageRole:
    name = "storage"

    def __init__(self, *, settings, rpc, membership, store, anchor=None,
                 attestations: AttestationCheck | None = None):
        """attestations: how windows are checked before they are stored; without one, no
        window is stored (fail closed) — only anchoring runs."""
        self.settings, self.rpc, self.membership, self.store = settings, rpc, membership, store
        self.anchor = anchor
        self.stored = 0
        self.readings_stored = 0  # readings in the windows this peer created
        self.anchored_batches = 0
        self.reconciled = 0  # readings a window stored before lacked, stored as its parts
        self.parts_stored = 0  # such parts (store.add_to_window)
        self._unanchored: tuple[bytes, int] | None = None  # built, kept, not yet on-chain
        self.attestations = attestations
        self.unattested = 0  # windows refused: a reading in them no master attested
        self.empty = 0  # windows refused: no reading at all (nothing for an attestation to cover)
        self.changes_trimmed = 0
        self.retired_letters_purged = 0
        self._one_batch = trio.Lock()
        rpc.register(STORE, self.handle)

    async def handle(self, request: StoreRequest, caller: str) -> StoreReply:
        """Check, build and write a batch on a worker thread, one batch at a time: the
        attestation checks (an HMAC per reading), the record format and the write are ~0.1 s
        for a round of 1,000 windows, and on the event loop they held up every other role of
        the peer — an all-in-one peer's masters waited that long for results their workers had
        ready (2026-12-05). SQLite and AES release the GIL for much of the write, so the loop
        goes on meanwhile; the lock keeps the attestation check's caches to one thread."""
        async with self._one_batch:
            refs, inputs = await trio.to_thread.run_sync(self._store_batch, request, caller)
        self.stored += sum(ref.created for ref in refs)
        self.readings_stored += sum(len(window.payload["readings"])
                                    for ref, window in zip(refs, inputs) if ref.created)
        return StoreReply([ref.record_id for ref in refs])

    def _store_batch(self, request: StoreRequest, caller: str) -> tuple[list, list]:
        """(refs, inputs) of the windows written; those refused are dead-lettered here."""
        store = self.store
        inputs = []
        # one read for the round's devices, not one per window (~3% of a peer's CPU)
        devices = store.get_devices([item["device_id"] for item in request.items])
        for item in request.items:
            if not item["readings"]:
                # every reading attested holds for none: an aggregator gone bad stored empty
                # "irregular" windows (alerts followed), and empty windows ahead of time that
                # the device's real ones then lost to, "stored by another aggregator"
                self.empty += 1
                log.warning("window from %s refused: it holds no reading", caller[-8:])
                store.dead_letter("window", json.dumps(item).encode(),
                                  "empty: a window record holds at least one reading")
                continue
            if self.attestations is None or not self.attestations.window_attested(item):
                self.unattested += 1
                log.warning("window from %s refused: readings without a master's attestation",
                            caller[-8:])
                store.dead_letter("window", json.dumps(item).encode(),
                                  "unattested: readings no admitted master validated")
                continue
            item = {k: v for k, v in item.items() if k != "attestations"}
            device = devices.get(item["device_id"])
            if device is None:  # validated at ingest, unregistered since: park it, go on
                store.dead_letter("window", json.dumps(item).encode(), "device no longer registered")
                continue
            try:  # the one window record format (docs/records.md), checked before it is stored
                payload = build_window_payload(item["device_id"], item["window_start_ms"],
                                               request.window_ms, item["readings"],
                                               item["prediction"])
            except InvalidInput as exc:  # a bug upstream, not a reason to stop: park it, go on
                store.dead_letter("window", json.dumps(item).encode(), str(exc))
                continue
            inputs.append(WindowInput(device.owner, item["device_id"], item["window_start_ms"],
                                      payload))
        refs = store.put_windows(inputs) if inputs else []
        repeats = [(ref, w) for ref, w in zip(refs, inputs) if not ref.created]
        if repeats:
            self._reconcile(repeats)
        return refs, inputs

    def _reconcile(self, repeats: list) -> None:
        """A window written before is kept as it was (a record is written once). Usually the
        second write is a retry with the same readings; but if two aggregators each closed the
        window (a split brain: each believed the other dead), or an aggregator sends readings
        merged into it after it closed the window (aggregation_unsent.py), it holds readings
        no stored record of the window has. Those are stored as the window's next part
        (store.add_to_window), exactly once; only when the stored record fails its integrity
        checks, and nothing can be compared with it, are they dead-lettered with the reason."""
        store = self.store
        for _, window in repeats:
            try:
                # a replay that reached each side of a split brain: one content per (device, seq)
                self._park_readings(window.device_id, store.conflicting_readings(window),
                                    "replay: its window holds another reading with this seq")
                added = store.add_to_window(window)
            except (TamperDetected, KeyMissing):  # the store alerted; keep this copy's readings
                self._park_readings(window.device_id, window.payload["readings"],
                                    "its window's stored record failed its integrity checks")
                continue
            except WindowPartsFull as exc:  # closed apart this often: a fault to look into
                self._park_readings(window.device_id, exc.readings,
                                    f"its window could not take a part: {exc}")
                continue
            if added is not None:
                _, readings = added
                self.reconciled += readings
                self.parts_stored += 1
                log.info("window of device …%s: %d reading(s) it lacked stored as a part",
                         window.device_id[-6:], readings)

    def _park_readings(self, device_id: str, readings: list[dict], reason: str) -> None:
        for reading in readings:
            self.store.dead_letter("reading", json.dumps(
                {"userId": device_id, **reading}, sort_keys=True).encode(), reason)

    def metrics(self) -> dict:
        return {"storage_windows_created": self.stored,
                "storage_readings_stored": self.readings_stored,
                "storage_batches_anchored": self.anchored_batches,
                "storage_readings_reconciled": self.reconciled,
                "storage_window_parts_created": self.parts_stored,
                "storage_windows_unattested": self.unattested,
                "storage_windows_empty": self.empty,
                "storage_changes_trimmed": self.changes_trimmed,
                "storage_retired_letters_purged": self.retired_letters_purged}

    async def run(self) -> None:
        # Trimming on a task of its own: the first trim of a store that never had one can take
        # hours of 500-row deletes, and anchoring must not wait for it.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._trim_loop)
            await self._anchor_loop()

    def _anchors(self) -> bool:
        """This peer is the one that anchors (and trims): one per cluster, not all of them."""
        return ranked("anchor", self.membership.live("storage"))[:1] == [self.rpc.self_id]

    async def _trim_loop(self) -> None:
        while True:
            if not self._anchors():
                await trio.sleep(self.settings.anchor_interval_s)
                continue
            for housekeeping in (self.trim_changes, self.purge_retired_letters):
                try:
                    await housekeeping()
                except Exception as exc:  # the next interval retries  # noqa: BLE001
                    log.warning("%s failed: %s", housekeeping.__name__, type(exc).__name__)
            await trio.sleep(self.settings.changes_trim_interval_s)

    async def _anchor_loop(self) -> None:
        while True:
            await trio.sleep(self.settings.anchor_interval_s)
            if not self._anchors():
                continue
            try:
                await self.anchor_pending()
            except DeploymentMismatch as exc:  # the operator has to act: say what is wrong
                log.error("anchoring refused: %s", exc)
            except Exception as exc:  # the records stay unbatched; the next round retries  # noqa: BLE001
                log.warning("anchoring failed: %s", type(exc).__name__)

    async def trim_changes(self) -> int:
        """Trim the record store's change log of changes older than `changes_retention_s`."""
        retention_s = self.settings.changes_retention_s
        trimmed = await trio.to_thread.run_sync(
            self.store.trim_changes, int((time.time() - retention_s) * 1000))
        self.changes_trimmed += trimmed
        if trimmed:
            log.info("change log: %d change(s) older than %.1f days trimmed", trimmed,
                     retention_s / 86_400)
        return trimmed

    async def purge_retired_letters(self) -> int:
        """Forget the record store's dead-letter retirements older than
        `retired_letters_retention_s`: each is kept so that a letter written after it (a
        master's, late) makes none (services/records/store_dead_letters.py)."""
        purged = await trio.to_thread.run_sync(
            self.store.purge_retired_letters,
            int((time.time() - self.settings.retired_letters_retention_s) * 1000))
        self.retired_letters_purged += purged
        return purged

    async def anchor_pending(self) -> int:
        """Build a batch from records not yet anchored, keep it with its proofs, anchor it.

        Without a chain (no anchor configured) nothing is batched: a batch that is never
        anchored would be rebuilt every round. A batch whose anchoring failed is retried with
        the same root, so the chain never sees two roots for the same records from us."""
        if self.anchor is None:
            return 0
        store = self.store
        if self._unanchored is None:
            pending = store.pending_unbatched(self.settings.anchor_batch_max)
            if not pending:
                return 0
            root, proofs = merkle.build([ref.ciphertext_sha256 for ref in pending])
            store.record_batch(root, [ref.record_id for ref in pending], proofs, None)
            self._unanchored = (root, len(pending))
        root, leaf_count = self._unanchored
        tx = await trio.to_thread.run_sync(self.anchor.anchor_batch, root, leaf_count)
        store.mark_batch_anchored(root, tx)
        self._unanchored = None
        self.anchored_batches += 1
        return leaf_count
