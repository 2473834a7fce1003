"""Seal one bundle: a patient's anchored windows of one period, as one sellable record.

Only windows whose batch root is anchored on-chain go in (the buyer checks each one against the
chain), erased or integrity-flagged windows never. Each window is read through the store's own
checks (hash, proof, GCM tag) and the anchor check the caller passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from services.market.bundle_ids import bundle_id as make_bundle_id
from services.market.documents import SourceWindow, build_document
from services.market.pseudonyms import UNLABELLED
from services.records import RecordNotFound, RecordStore, SellableRecord, WindowMeta
from services.records.base import InvalidInput, RecordsError

PAGE = 500


@dataclass(frozen=True)
class PeriodWindows:
    anchored: list[WindowMeta]
    waiting: int  # windows of the period not anchored yet (neither flagged nor erased)
    latest_waiting_ms: int = 0  # when the newest of those was stored (0: none waits)


def period_windows(store: RecordStore, patient: str, start_ms: int, end_ms: int) -> PeriodWindows:
    anchored, waiting, latest_waiting, since = [], 0, 0, start_ms
    while True:
        page = store.list_windows(patient, since_ms=since, limit=PAGE)
        inside = [m for m in page if m.window_start_ms < end_ms]
        for meta in inside:
            if meta.erased or meta.flag is not None:
                continue
            if meta.anchored and meta.batch_root is not None:
                anchored.append(meta)
            else:
                waiting, latest_waiting = waiting + 1, max(latest_waiting, meta.created_ms)
        if len(page) < PAGE or len(inside) < len(page):
            return PeriodWindows(anchored, waiting, latest_waiting)
        since = page[-1].window_start_ms + 1


def seal_bundle(store: RecordStore, patient: str, data_class: int, period: tuple[int, int],
                windows: list[WindowMeta], anchor_check: Callable[[bytes], bool],
                blobs=None, bundle_id: str | None = None, part: int = 0) -> SellableRecord | None:
    """Decrypt the windows, build the document, seal it as a bundle. None when no window could be
    read soundly (each one refused costs only itself: the store alerted and flagged it)."""
    bundle_id = bundle_id or make_bundle_id(patient, data_class, period[0])
    sources = []
    for meta in windows:
        try:
            payload = store.get_window(meta.record_id, anchor_check=anchor_check)
        except RecordsError:
            continue
        root, proof = store.proof_of(meta.record_id)
        sources.append(SourceWindow(meta.record_id, payload, meta.ciphertext_sha256, root, proof))
    if not sources:
        return None
    # no subject of its own: each buyer's copy is labelled per purchase on delivery
    document = build_document(data_class, UNLABELLED, period, sources, bundle_id=bundle_id,
                              part=part)
    plaintext = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    try:
        return store.put_bundle(patient, bundle_id, data_class, plaintext)
    except InvalidInput:  # too large for this backend's documents: the blob store holds it
        if blobs is None:
            raise
        return store.put_bundle(patient, bundle_id, data_class, plaintext, blobs=blobs)


def sealed_meta(store: RecordStore, bundle_id: str) -> SellableRecord | None:
    """The bundle stored under this id, None when none is."""
    try:
        return store.bundle_meta(bundle_id)
    except RecordNotFound:
        return None
