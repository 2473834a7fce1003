"""Aggregation, readings found outside every stored window: sent to storage as parts of their
windows. Part of AggregationRole (aggregation.py).

Two aggregators can each act as a user's primary for a while (a host cut off, a peer thought
dead under load). The one that closes a window first stores it; readings the other held for it
turn up after that, when a merge brings them into a window closed here or into one after closing
read it (window_store.merge, mark_closed). They were acknowledged to a master, so they are kept
in the window store's `unsent` table in the same transaction that finds them, and sent from
there: screened, then stored like any window, with the attestation documents they name. Storage
finds the window written and keeps what its record lacks as the window's next part
(store.add_to_window): each reading in exactly one part. They alert nobody on their own: the
window's alert went with its first part. Only what storage's or the screen's own checks refuse
is dead-lettered, with the reason; a call that fails is tried again.

Late readings go the same way. A device that drops out mid-window sends the rest of it after
the window closed: ingest judges those "late", and the aggregator and the master each write the
same dead letter for them (services/peers/rejected.py) — so a reading stays safe whatever
happens to this aggregator. They are kept here too, not sent before `late_hold_s` passed (the
master writes its letter after our answer), then stored as a part of their window like the
orphans; once storage holds one, its letter is retired. The aggregator that took them is the
only one that keeps them: if it dies first, the letter remains, as before."""

from __future__ import annotations

import logging
import math
import time

import trio

from services.ingest.reading import canonical
from services.peers.messages.windows import PREDICT, STORE, PredictRequest, StoreRequest
from services.peers.refused_windows import refused
from services.peers.rejected import retire_late_letter
from services.runtime.error_text import describe

log = logging.getLogger(__name__)

UNSENT_PER_CALL = 1_000  # readings per screen-and-store call
UNKEPT_REASON = ("late: its window was stored without it, and this aggregator keeps as many "
                 "such readings as unsent_limit allows already")


class SendingUnsent:
    def _note_orphans(self, orphans: list[dict], source: str) -> None:
        """Readings a master saw acknowledged that no stored window holds (their window was
        closed elsewhere, or here, without them): kept to be stored as a part (see above), or,
        past `unsent_limit` kept already, dead-lettered with the reason."""
        unkept = [o for o in orphans if o.get("unkept")]
        if unkept:
            orphans = [o for o in orphans if not o.get("unkept")]
            log.warning("%d orphan reading(s) dead-lettered (%s): %d are kept already "
                        "(unsent_limit)", len(unkept), source, self.settings.unsent_limit)
            for reading in unkept:
                body = {k: v for k, v in reading.items() if k != "unkept" and v is not None}
                self.store.dead_letter("reading", canonical(body), UNKEPT_REASON)
            self.orphans_unkept += len(unkept)
        if orphans:
            log.warning("%d acknowledged reading(s) outside a closed window (%s; e.g. device "
                        "…%s seq %s): kept, to be stored as a part of their window",
                        len(orphans), source, orphans[0]["userId"][-6:], orphans[0]["seq"])
            self.orphaned += len(orphans)
            self._unsent_waiting.set()

    async def _keep_late(self, readings: list[dict], attestations: dict) -> None:
        """Readings ingest judged late (dead-lettered already): kept, to go as parts once
        `late_hold_s` passed (see above)."""
        async with self.writes.closing():
            kept = self.windows.keep_late(readings, attestations,
                                          time.time() + self.settings.late_hold_s)
        self.late_kept += kept
        if kept:
            log.info("%d reading(s) came after their window closed (e.g. device …%s seq %s): "
                     "dead-lettered as late, and to be stored as a part of it in %.0f s",
                     kept, readings[0]["userId"][-6:], readings[0]["seq"],
                     self.settings.late_hold_s)
            self._unsent_waiting.set()  # the loop learns when they are due

    async def _unsent_loop(self) -> None:
        """Send what `unsent` holds whenever orphans were kept, when late readings fall due,
        and at start (kept before a restart); a call that fails is tried again after
        unsent_retry_s."""
        self._unsent_waiting.set()
        while True:
            due = self.windows.next_late_at()
            wait_s = math.inf if due is None else max(0.0, due - time.time())
            with trio.move_on_after(wait_s):
                await self._unsent_waiting.wait()
            self._unsent_waiting = trio.Event()
            try:
                while await self.send_unsent():
                    pass
            except Exception as exc:  # they stay kept; the next try sends them  # noqa: BLE001
                log.info("storing orphan readings failed, will retry: %s", describe(exc))
                await trio.sleep(self.settings.unsent_retry_s)
                self._unsent_waiting.set()

    async def send_unsent(self) -> int:
        """One call's worth of `unsent`: screened, stored, then forgotten. Returns how many
        readings left `unsent` (0: none was kept)."""
        batch = self.windows.unsent(UNSENT_PER_CALL)
        if not batch:
            return 0
        windows = [{"device_id": d, "window_start_ms": w, "readings": readings}
                   for d, w, readings, _ in batch]
        predicted = await self._checked_call("prediction", PREDICT, PredictRequest(windows),
                                             batch)
        if predicted is None:
            return await self._park_refused(batch)
        items = [dict(window, prediction=prediction, attestations=docs)
                 for window, prediction, (_, _, _, docs) in zip(windows, predicted.predictions,
                                                                batch, strict=True)]
        stored = await self._checked_call("storage", STORE,
                                          StoreRequest(items, self.windows.window_ms), batch)
        if stored is None:
            return await self._park_refused(batch)
        keys = [(d, r["seq"]) for d, _, readings, _ in batch for r in readings]
        late = self.windows.late_among(keys)
        self._retire_late_letters(batch, late)
        async with self.writes.closing():
            self.windows.drop_unsent(keys)
        self.unsent_stored += len(keys) - len(late)
        return len(keys)

    def _retire_late_letters(self, batch: list, late: set[tuple[str, int]]) -> None:
        """Storage holds these now: the "late" letters of those that came late go (before
        they leave `unsent`: a crash in between retires them again on the next send)."""
        for device, _, readings, _ in batch:
            for reading in readings:
                if (device, reading["seq"]) in late:
                    retire_late_letter(self.store, device, reading)
                    self.late_stored += 1

    async def _checked_call(self, role: str, op: str, request, batch: list):
        """call_role; None when the op's own check refused some windows: those are marked
        in `batch` (their reason in place of their documents) for _park_refused."""
        try:
            return await self.call_role(role, op, request)
        except Exception:
            bad = refused(request)
            if not bad:
                raise  # the call failed: everything stays kept, the loop tries again
            for index, reason in bad.items():
                device, window, readings, _ = batch[index]
                batch[index] = (device, window, readings, f"{op} check ({reason})")
            return None

    async def _park_refused(self, batch: list) -> int:
        """Dead-letter the readings of the windows a check refused (with why) and forget them;
        the rest go again in the next call."""
        parked = [(d, readings, why) for d, _, readings, why in batch if isinstance(why, str)]
        for device, readings, why in parked:
            self._park_readings(device, readings, why)  # as closing parks a refused window
        log.warning("%d window(s) of orphan readings refused (e.g. the %s): dead-lettered",
                    len(parked), parked[0][2])
        keys = [(d, r["seq"]) for d, readings, _ in parked for r in readings]
        async with self.writes.closing():
            self.windows.drop_unsent(keys)
        return len(keys)
