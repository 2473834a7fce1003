"""Windows that arrive after their period was settled (a wearable syncing late, an anchor slower
than `max_anchor_wait_s`) are sold in supplements: more bundles of the same patient, class and
period (parts 1, 2, ... of services/market/bundle_ids.py), each registered as its own record, each
holding only windows no earlier part of the period holds. No contract change: a supplement is an
ordinary record of the class, so every purchase of the class can log access to it, and a window
is never sold in two bundles.

Which periods to look at comes from the store's change stream (`window_added` names the window):
a window whose period the custodian settled already makes that period a candidate. Which windows a
period has sold comes from its own sealed parts (the custodian decrypts them; that list is
authoritative, unlike timestamps). A restart reads the change stream from the beginning of what
it keeps (the store trims changes older than its retention, a week by default), so every settled
period with windows stored within it is checked once (one decrypt per part); after that only the
periods that receive a window.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from web3.contract import Contract

from services.market import registration
from services.market.builder import period_windows, seal_bundle, sealed_meta
from services.market.bundle_ids import bundle_id, bundle_salt
from services.records import CursorExpired, RecordNotFound, RecordStore, SellableRecord

log = logging.getLogger("pulseledger.market")
CHANGES_PAGE = 500

Register = Callable[[SellableRecord, bytes], None]  # (sealed bundle, its salt): addRecord it


@dataclass
class PeriodSales:
    """The parts of one period found so far and the windows they hold."""

    parts: int = 0
    sold: set[str] = field(default_factory=set)


class LateWindows:
    def __init__(self, store: RecordStore, ledger: Contract, period_ms: int, max_wait_ms: int,
                 anchor_check: Callable[[bytes], bool], register: Register, blobs=None):
        self.store, self.ledger, self.blobs = store, ledger, blobs
        self._period_ms, self._max_wait_ms = period_ms, max_wait_ms
        self._anchor_check, self._register = anchor_check, register
        self._cursors: dict[str, str | None] = {}
        self._candidates: set[tuple[str, int, int]] = set()  # (patient, data class, period start)
        self._sales: dict[tuple[str, int, int], PeriodSales] = {}

    def watch(self, patient: str, data_class: int, period_start_ms: int) -> None:
        """The period was settled with windows left out (not anchored in time): look again."""
        self._candidates.add((patient, data_class, period_start_ms))

    def follow(self, patient: str, settled_before: dict[int, int]) -> None:
        """Read the patient's new `window_added` changes; a window in a period before
        `settled_before[data_class]` (the first period the custodian has not settled) makes that
        period a candidate for the class."""
        while True:
            try:
                changes = self.store.changes_since(patient, self._cursors.get(patient),
                                                   limit=CHANGES_PAGE)
            except CursorExpired:  # not followed for longer than the log keeps: what is kept
                log.warning("change log of a patient trimmed past our cursor: reading what is "
                            "kept; windows stored in between are not looked at again")
                self._cursors[patient] = None
                continue
            for change in changes:
                if change.kind == "window_added" and change.record_id:
                    self._note(patient, change.record_id, settled_before)
            if changes:  # page by page: a failure later does not re-read this one
                self._cursors[patient] = changes[-1].cursor
            if len(changes) < CHANGES_PAGE:
                return

    def _note(self, patient: str, record_id: str, settled_before: dict[int, int]) -> None:
        try:
            start = self.store.window_meta(record_id).window_start_ms
        except RecordNotFound:  # gone since (a backup restored without it): nothing to sell
            return
        period = start // self._period_ms * self._period_ms
        for data_class, first_unsettled in settled_before.items():
            if period < first_unsettled:
                self._candidates.add((patient, data_class, period))

    def settle(self, patient: str, data_class: int, now_ms: int) -> int:
        """Seal and register a supplement for each candidate period of (patient, class) with
        anchored windows no part holds; returns how many were sealed. A period stays a candidate
        while windows of it wait for their anchor (at most `max_anchor_wait_s` after the newest
        was stored)."""
        sealed = 0
        for key in sorted(k for k in self._candidates if k[:2] == (patient, data_class)):
            done, made = self._settle_period(*key, now_ms)
            sealed += made
            if done:
                self._candidates.discard(key)
                self._sales.pop(key, None)  # a later window re-reads the parts: memory stays small
        return sealed

    def _settle_period(self, patient: str, data_class: int, start: int,
                       now_ms: int) -> tuple[bool, int]:
        sales = self._period_sales(patient, data_class, start)
        if sales is None:
            return True, 0  # a part was erased: the patient withdrew this period from sale
        windows = period_windows(self.store, patient, start, start + self._period_ms)
        if windows.waiting and now_ms < windows.latest_waiting_ms + self._max_wait_ms:
            return False, 0  # fewer, larger supplements: wait for the anchors like part 0 does
        unsold = [m for m in windows.anchored if m.record_id not in sales.sold]
        if not unsold:
            return not windows.waiting, 0
        part = sales.parts
        record = seal_bundle(self.store, patient, data_class,
                             (start, start + self._period_ms), unsold, self._anchor_check,
                             blobs=self.blobs, bundle_id=bundle_id(patient, data_class, start, part),
                             part=part)
        if record is None:  # every unsold window refused by the store's checks (flagged now)
            return not windows.waiting, 0
        self._register(record, bundle_salt(data_class, start, part))
        sales.parts += 1
        sales.sold.update(m.record_id for m in unsold)
        log.info("supplement sealed", extra={"record": record.bundle_id, "part": part,
                                             "data_class": data_class})
        return not windows.waiting, 1

    def _period_sales(self, patient: str, data_class: int, start: int) -> PeriodSales | None:
        """Every part of the period so far (a part sealed but never registered is registered
        now, as part 0 is), or None when one was erased."""
        sales = self._sales.setdefault((patient, data_class, start), PeriodSales())
        while True:
            part_id = bundle_id(patient, data_class, start, sales.parts)
            record = sealed_meta(self.store, part_id)
            if record is None:
                return sales
            if record.erased:
                return None
            if registration.registration_of(self.ledger, part_id).status == \
                    registration.RECORD_NONE:
                self._register(record, bundle_salt(data_class, start, sales.parts))
            document = json.loads(self.store.get_bundle(part_id, blobs=self.blobs))
            sales.sold.update(w["record_id"] for w in document["windows"])
            sales.parts += 1
