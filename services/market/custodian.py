"""The market custodian: for every patient who authorised it, one sealed bundle per priced data
class and closed period, registered on-chain, so whatever a patient prices has records to buy.

It reads the record store (the windows the storage peers wrote and anchored) and writes bundles
to it; it never touches the peers. State is the store and the chain: a restart finds the bundles
it made (ids are derived, services/market/bundle_ids.py), registers one sealed but not registered,
and goes on. Windows that arrive after their period was settled are sold in supplements
(services/market/late_windows.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from web3.contract import Contract

from services.chain.log_ranges import contract_event_logs
from services.chain.settings import ChainSettings
from services.market import registration
from services.market.builder import period_windows, seal_bundle, sealed_meta
from services.market.bundle_ids import bundle_id as make_bundle_id
from services.market.bundle_ids import bundle_salt
from services.market.documents import HEART_RATE_WINDOWS, PREDICTIONS_ALERTS
from services.market.late_windows import LateWindows
from services.market.settings import MarketSettings
from services.records import RecordStore, SellableRecord
from services.runtime.bounded_cache import BoundedCache

log = logging.getLogger("pulseledger.market")
# Exports are made by the patient (period and classes of their choosing), not sealed by period.
SEALED_CLASSES = (HEART_RATE_WINDOWS, PREDICTIONS_ALERTS)
# Batch roots remembered as anchored: a storage peer anchors one every few seconds, so the
# custodian's memory of them is bounded (a root forgotten costs one eth_call, never a wrong answer).
ANCHORED_ROOTS_KEPT = 50_000


@dataclass
class Tally:
    sealed: int = 0
    registered: int = 0
    errors: list[str] = field(default_factory=list)


class Custodian:
    def __init__(self, store: RecordStore, ledger: Contract, account, settings: MarketSettings,
                 deployment_block: int = 0, blobs=None, clock: Callable[[], float] = time.time,
                 log_block_range: int = ChainSettings.model_fields["log_block_range"].default):
        self.store, self.ledger, self.account = store, ledger, account
        self._log_block_range = log_block_range
        self.settings, self.blobs, self.clock = settings, blobs, clock
        self._period_ms = settings.period_s * 1000
        self._patients: dict[str, bool] = {}
        self._scanned_to = deployment_block - 1
        self._next_period: dict[tuple[str, int], int] = {}  # first period not yet settled
        self._anchored = BoundedCache(ANCHORED_ROOTS_KEPT)  # roots seen anchored (never un-anchor)
        self._tally = Tally()  # the round in progress
        self.late = LateWindows(store, ledger, self._period_ms,
                                int(settings.max_anchor_wait_s * 1000), self._is_anchored,
                                self._register, blobs=blobs)

    # -- who and what ------------------------------------------------------------------------
    def patients(self) -> list[str]:
        """Patients whose latest CustodianAuthorized for this custodian says allowed."""
        head = self.ledger.w3.eth.block_number
        if head > self._scanned_to:
            # deployment -> head on the first round: in pieces a range-bounded proxy accepts
            logs = contract_event_logs(self.ledger.events.CustodianAuthorized,
                                       self._scanned_to + 1, head, self._log_block_range,
                                       {"custodian": self.account.address})
            for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
                self._patients[entry["args"]["patient"].lower()] = bool(entry["args"]["allowed"])
            self._scanned_to = head
        return sorted(p for p, allowed in self._patients.items() if allowed)

    def priced_classes(self, patient: str) -> list[int]:
        checksum = self.ledger.w3.to_checksum_address(patient)
        return [c for c in SEALED_CLASSES if self.ledger.functions.priceOf(checksum, c).call() > 0]

    # -- one round ---------------------------------------------------------------------------
    def run_once(self) -> Tally:
        self._tally = tally = Tally()
        for patient in self.patients():
            classes = self.priced_classes(patient)
            for data_class in classes:
                self._guarded(patient, data_class, self._settle, patient, data_class, tally)
            # after the periods are settled, so windows of the open ones are not candidates
            settled_before = {c: self._next_period.get((patient, c), 0) for c in classes}
            self._guarded(patient, None, self.late.follow, patient, settled_before)
            for data_class in classes:
                self._guarded(patient, data_class, self._sell_late, patient, data_class, tally)
        return tally

    def _guarded(self, patient: str, data_class: int | None, step, *args) -> None:
        try:
            step(*args)
        except Exception as error:  # noqa: BLE001 - one patient must not stop the others
            log.warning("bundle round failed", extra={"patient": patient[:10],
                                                       "data_class": data_class,
                                                       "error": type(error).__name__})
            self._tally.errors.append(f"{patient[:10]}/{data_class}: {type(error).__name__}")

    def _sell_late(self, patient: str, data_class: int, tally: Tally) -> None:
        tally.sealed += self.late.settle(patient, data_class, int(self.clock() * 1000))

    def _settle(self, patient: str, data_class: int, tally: Tally) -> None:
        now_ms = int(self.clock() * 1000)
        start = self._period_with_windows(patient, self._next_period.get((patient, data_class), 0))
        while start is not None and start + self._period_ms <= now_ms:
            if not self._settle_period(patient, data_class, start, now_ms, tally):
                return  # windows still waiting for their anchor: come back next round
            self._next_period[(patient, data_class)] = start + self._period_ms
            start = self._period_with_windows(patient, start + self._period_ms)

    def _period_with_windows(self, patient: str, from_ms: int) -> int | None:
        """The first period at or after `from_ms` that holds a window of the patient: periods
        without windows (the system was down, the wearable off) cost nothing."""
        first = self.store.list_windows(patient, since_ms=from_ms, limit=1)
        if not first:
            return None
        return max(from_ms, first[0].window_start_ms // self._period_ms * self._period_ms)

    def _settle_period(self, patient: str, data_class: int, start: int, now_ms: int,
                       tally: Tally) -> bool:
        """True when the period is done with (registered, or nothing to sell in it)."""
        bundle_id = make_bundle_id(patient, data_class, start)
        if registration.registration_of(self.ledger, bundle_id).status != registration.RECORD_NONE:
            return True
        record = sealed_meta(self.store, bundle_id)
        if record is not None and record.erased:
            return True  # the patient erased it before it was registered: never offer it
        if record is None:
            end = start + self._period_ms
            windows = period_windows(self.store, patient, start, end)
            if windows.waiting and now_ms < end + self.settings.max_anchor_wait_s * 1000:
                return False
            if windows.waiting:  # sealed without them: they are sold when they anchor
                self.late.watch(patient, data_class, start)
            if not windows.anchored:
                return True
            record = seal_bundle(self.store, patient, data_class, (start, end), windows.anchored,
                                 self._is_anchored, blobs=self.blobs)
            if record is None:
                return True
            tally.sealed += 1
        self._register(record, bundle_salt(data_class, start))
        return True

    def _register(self, record: SellableRecord, salt: bytes) -> None:
        tx = registration.register_bundle(self.ledger, self.account, record, salt)
        self._tally.registered += 1
        log.info("bundle registered", extra={"record": record.bundle_id,
                                             "data_class": record.data_class, "tx": tx})

    def _is_anchored(self, root: bytes) -> bool:
        """The batch root is anchored on-chain (roots never un-anchor: safe to remember)."""
        if root not in self._anchored:
            anchor = self.ledger.functions.batchAnchor(root).call()
            if int(anchor[0], 16) == 0:
                return False
            self._anchored.add(root)
        return True
