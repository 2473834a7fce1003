"""Storage: writes each window record (readings + prediction) to the record store, idempotent
on (device, window); and, on one storage peer at a time (the one closest to the key "anchor"),
anchors the Merkle root of each batch of new records and keeps every record's inclusion proof."""

from __future__ import annotations

import logging

import trio

from services.peers.anchoring import merkle_root_and_proofs
from services.peers.assignment import ranked

log = logging.getLogger(__name__)


class StorageRole:
    name = "storage"

    def __init__(self, node, anchor=None):
        self.node = node
        self.anchor = anchor
        self.stored = 0
        node.rpc.register("store.windows", self.handle)

    async def handle(self, body: dict, caller: str) -> dict:
        store = self.node.store
        refs = []
        for item in body["items"]:
            device = store.get_device(item["device_id"])
            if device is None:  # validated at ingest; a device deleted since is kept, unowned
                owner = ""
            else:
                owner = device.owner
            payload = {"device_id": item["device_id"], "window_start_ms": item["window_start_ms"],
                       "window_ms": body.get("window_ms"), "readings": item["readings"],
                       "prediction": item["prediction"]}
            ref = store.put_window(owner, item["device_id"], item["window_start_ms"], payload)
            self.stored += int(ref.created)
            refs.append(ref.record_id)
        return {"record_ids": refs}

    async def run(self) -> None:
        while True:
            await trio.sleep(self.node.settings.anchor_interval_s)
            storage_peers = self.node.membership.live("storage")
            if ranked("anchor", storage_peers)[:1] != [self.node.rpc.self_id]:
                continue
            try:
                await self.anchor_pending()
            except Exception as exc:  # the records stay unbatched; the next round retries
                log.warning("anchoring failed: %s", type(exc).__name__)

    async def anchor_pending(self) -> int:
        store = self.node.store
        pending = store.pending_unbatched(self.node.settings.anchor_batch_max)
        if not pending:
            return 0
        root, proofs = merkle_root_and_proofs([ref.ciphertext_sha256 for ref in pending])
        tx = None
        if self.anchor is not None:
            tx = await trio.to_thread.run_sync(self.anchor.anchor_batch, root, len(pending))
        store.record_batch(root, [ref.record_id for ref in pending], proofs, tx)
        return len(pending)
