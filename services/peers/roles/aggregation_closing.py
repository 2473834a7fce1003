"""Aggregation, closing: windows that fell due are marked `closing` here and on the replica,
sent through prediction, storage and notification, then marked `closed` (see aggregation.py's
docstring); as replica, windows our primary left unclosed are taken over (overdue.py). Closing
comes before ingest (yield_to_closing). Part of AggregationRole (aggregation.py)."""

from __future__ import annotations

import logging
import time

import trio

from services.ingest.reading import canonical
from services.peers.messages.windows import (
    NOTIFY,
    PREDICT,
    STORE,
    NotifyRequest,
    PredictRequest,
    StoreRequest,
)
from services.peers.refused_windows import refused
from services.peers.roles.aggregation_sync import UNSYNCED
from services.peers.rpc import PeerUnavailable
from services.peers.window_store import CLOSED, CLOSING, NEVER, OPEN
from services.runtime.error_text import describe

log = logging.getLogger(__name__)


class WrongAnswer(Exception):
    """A callee's reply does not answer the request (its round fails, and is retried)."""


class Closing:
    async def _close_loop(self) -> None:
        settings = self.settings
        while True:
            if self._due_backlog:
                await trio.lowlevel.checkpoint()  # more is due: next round at once
            else:
                await trio.sleep(settings.close_tick_s)
            due = []
            now = time.monotonic()
            # The stream stopped: nothing came in for a while, no master is pulling readings and
            # none reports a message still queued. (Silence alone is not enough: masters
            # stalled on another aggregator send nothing, and a message a dead master had
            # locked waits for its lock to lapse.)
            quiet = (now - self._last_input >= settings.quiet_flush_s
                     and not self.membership.any_queue_busy()
                     and not self.membership.queue_pending())
            as_replica = []
            for d, w, s in self.windows.due(settings.grace_ms, int(settings.idle_close_s * 1000),
                                            flush=quiet,
                                            queued_since_ms=self.membership.queue_low_ms()):
                if self.closable(d):
                    due.append((d, w, s))
                    self._first_due.setdefault((d, w), now)  # latency counts from here
                elif self._is_replica(d):
                    as_replica.append((d, w, s))
            if len(self._first_due) > len(due):  # some closed another way: parked, merged
                still_due = {(d, w) for d, w, _ in due}
                self._first_due = {key: at for key, at in self._first_due.items()
                                   if key in still_due}
            self._due_backlog = max(0, len(due) - settings.close_batch_max)
            overdue = self._watch.overdue(as_replica, now)
            if overdue and not due:  # our own windows first
                await self._take_over(overdue[:settings.close_batch_max])
            if not due:
                continue
            self._closing_round = True
            try:
                await self.close(due[:settings.close_batch_max])
            except Exception as exc:  # the windows stay `closing`; the next tick retries  # noqa: BLE001
                log.info("closing windows failed, will retry: %s", describe(exc))
                self._due_backlog = 0  # retry after a tick, not in a busy loop
            finally:
                self._closing_round = False
                self._round_done.set()
                self._round_done = trio.Event()

    async def yield_to_closing(self) -> None:
        """Backpressure: while windows that fell due are being (or wait to be) closed, wait for
        the round. Closing comes first — its latency is what users see, and a round is short —
        so ingest takes one batch per round while a backlog lasts, and the masters slow down
        with it (readings are safe in the queue meanwhile). A master in the same process asks
        too before it pulls and validates more, so the round has the CPU to itself. The wait is
        capped well inside the RPC timeout: a slow round must not make masters think this
        aggregator is dead."""
        if self._due_backlog or self._closing_round:
            with trio.move_on_after(min(1.0, self.settings.rpc_timeout_s / 4)):
                await self._round_done.wait()

    def closable(self, device: str) -> bool:
        """We may close this user's windows: we are its primary and have synced with its
        replica since the live set last changed — or it has none and we need not wait for one
        (see _may_act_alone; the rebalance loop records both)."""
        primary, replica = self.directory.primary_and_replica(device)
        return primary == self.rpc.self_id and self._synced.get(device, UNSYNCED) == replica

    def _is_replica(self, device: str) -> bool:
        return self.directory.primary_and_replica(device)[1] == self.rpc.self_id

    async def _take_over(self, overdue: list[tuple]) -> None:
        """Close windows our live primary acknowledged and left unclosed (see overdue.py)."""
        primary = self.directory.primary_and_replica(overdue[0][0])[0] or "?"
        log.warning("windows due for %.0f s not closed by their primary (e.g. %s): closing %d "
                    "as replica", self.settings.takeover_after_s, primary[-8:], len(overdue))
        try:
            await self.close(overdue, takeover=True)
            self.taken_over += len(overdue)
        except Exception as exc:  # they stay due; the next tick retries  # noqa: BLE001
            log.info("taking over windows failed, will retry: %s", describe(exc))

    async def close(self, due: list[tuple], takeover: bool = False) -> None:
        """Send windows on (see the module docstring). In a takeover the primary that left them
        may not take our marks: telling it is best effort, the windows go on regardless."""
        steps = self.round_steps.begin()
        opening = [(d, w) for d, w, s in due if s == OPEN]
        if opening:
            async with self.writes.closing():
                steps.lap("wait_writer")  # the ingest call writing now finishes first
                self.windows.mark(opening, CLOSING)
        steps.lap("mark_closing")
        everything = [(d, w) for d, w, _ in due]
        marks = self._marks_payloads(everything, CLOSING)
        try:
            await self._replicate(marks)
        except PeerUnavailable:
            if not takeover:
                raise
        steps.lap("replicate_closing")

        readings = self._with_content(self.windows.readings_of(everything))
        sending = [key for key in everything if readings[key]]  # an empty one is just closed
        windows = [{"device_id": device, "window_start_ms": window_start,
                    "readings": readings[(device, window_start)]}
                   for device, window_start in sending]
        attested: dict[tuple[str, int], list[dict]] = {}
        steps.lap("read_readings")

        async def read_attestations() -> None:
            attested.update(self.windows.attestations_of(sending))

        async with trio.open_nursery() as nursery:
            # the documents are read and parsed on this loop while the screen runs (on a thread,
            # or another peer), not after it: the task starts when the call first waits
            nursery.start_soon(read_attestations)
            predicted = await self._call_parking_refused(
                "prediction", PREDICT, PredictRequest(self._with_context(windows)), sending,
                readings)
        steps.lap("screen")  # with the documents read and parsed beside it
        if len(predicted.predictions) != len(windows):
            # paired by position below: a short answer left windows out of storage, and they
            # were then marked closed and scrubbed, their readings lost without a dead letter
            raise WrongAnswer(f"the screen judged {len(predicted.predictions)} of "
                              f"{len(windows)} windows")
        items = [dict(w, prediction=p, attestations=attested[(w["device_id"], w["window_start_ms"])])
                 for w, p in zip(windows, predicted.predictions)]
        await self._call_parking_refused("storage", STORE,
                                         StoreRequest(items, self.windows.window_ms), sending,
                                         readings)
        stored_at = time.monotonic()
        steps.lap("store")
        await self.call_role_by_key("notification", NOTIFY, [
            {"device_id": i["device_id"], "window_start_ms": i["window_start_ms"],
             "prediction": i["prediction"]} for i in items], key=lambda i: i["device_id"],
            request=NotifyRequest)
        steps.lap("notify")
        async with self.writes.closing():
            steps.lap("wait_writer")
            orphans = self.windows.mark_closed(readings)
        self._note_orphans(orphans, "added while closing")
        steps.lap("mark_closed")
        await self._tell_replicas_closed(everything)
        steps.lap("replicate_closed")
        self.closed_windows += len(everything)
        latencies = [stored_at - self._first_due.pop(key, stored_at) for key in everything]
        if self._latency_file is not None:  # "<wall clock when due> <due → stored ms>" lines
            wall = time.time() - (time.monotonic() - stored_at)
            self._latency_file.write("".join(f"{wall - x:.3f} {x * 1000:.1f}\n"
                                             for x in latencies))
            self._latency_file.flush()

    def _with_content(self, readings: dict[tuple[str, int], list[dict]]
                      ) -> dict[tuple[str, int], list[dict]]:
        """Each due window's readings without the scrubbed ones (heart rate None). A reading is
        scrubbed only when a window holding it closed (window_store._scrub), so one in a window
        still due here came by a merge from an aggregator that closed it: that closer sent its
        content on, and storage reconciles whatever else this window holds against the record
        it wrote (first write wins, the rest dead-lettered with why). Passed on, it would fail
        the whole window at storage's check (a record's readings hold numbers)."""
        kept = {key: [r for r in rows if r["heartrate"] is not None]
                for key, rows in readings.items()}
        skipped = sum(len(readings[key]) - len(rows) for key, rows in kept.items())
        if skipped:
            self.scrubbed_skipped += skipped
            log.info("%d scrubbed reading(s) in windows due here skipped (closed elsewhere)",
                     skipped)
        return kept

    async def _call_parking_refused(self, role: str, op: str, request, keys: list[tuple],
                                    readings: dict[tuple[str, int], list[dict]]):
        """call_role; if it fails, the windows the op's own check refuses are parked before the
        failure goes up, so the next round goes on without them (refused_windows.py)."""
        try:
            return await self.call_role(role, op, request)
        except PeerUnavailable:
            raise  # no answer: nothing was refused
        except Exception:
            bad = refused(request)
            if bad:
                await self._park({keys[i]: why for i, why in bad.items()}, op, readings)
            raise

    async def _park(self, why: dict[tuple[str, int], str], op: str,
                    readings: dict[tuple[str, int], list[dict]]) -> None:
        """Dead-letter these windows' readings with the reason, then close the windows (here and
        on the replica) as sent on: a parked reading is an outcome, as a stored one is."""
        for (device, start), reason in why.items():
            self._park_readings(device, readings[(device, start)], f"{op} check ({reason})")
        log.warning("%d window(s) refused by the %s check (e.g. device …%s: %s): their readings "
                    "dead-lettered, the round goes on without them", len(why), op,
                    next(iter(why))[0][-6:], next(iter(why.values())))
        async with self.writes.closing():
            orphans = self.windows.mark_closed({key: readings[key] for key in why})
        self._note_orphans(orphans, "added while closing")
        self.refused_windows += len(why)
        await self._tell_replicas_closed(list(why))

    def _park_readings(self, device: str, readings: list[dict], check: str) -> None:
        """Dead-letter a refused window's readings, naming the check that refused it."""
        for reading in readings:
            if reading["heartrate"] is not None:  # a scrubbed one holds nothing to keep
                body = {"userId": device, **{k: v for k, v in reading.items() if v is not None}}
                self.store.dead_letter("reading", canonical(body),
                                       f"refused: its window failed the {check}")

    async def _tell_replicas_closed(self, windows: list[tuple[str, int]]) -> None:
        """Best effort: a replica that still has them `closing` would, in a takeover, redo
        idempotent steps (or park a refused window again)."""
        try:
            await self._replicate(self._marks_payloads(windows, CLOSED))
        except PeerUnavailable:
            pass

    def _with_context(self, windows: list[dict]) -> list[dict]:
        """The windows as the screen is asked: each with the device's minute before, as far as
        this aggregator closed it (recent_windows.py), this round's earlier windows included (a
        backlog closes several of a device's windows at once); storage gets them without it.
        Remembered before they are judged: a round that fails is closed again from the start,
        and a window is only ever the context of later ones."""
        contexts = {}
        for w in sorted(windows, key=lambda w: w["window_start_ms"]):
            key = (w["device_id"], w["window_start_ms"])
            contexts[key] = self.recent.context_of(*key)
            self.recent.remember(*key, w["readings"])
        return [w if contexts[(w["device_id"], w["window_start_ms"])] is None
                else dict(w, context=contexts[(w["device_id"], w["window_start_ms"])])
                for w in windows]

    def _marks_payloads(self, windows: list[tuple[str, int]], state: int) -> dict[str, dict]:
        by_peer = self._replica_groups(d for d, _ in windows)
        payloads = {}
        for peer, devices in by_peer.items():
            wanted = set(devices)
            chosen = [(d, w) for d, w in windows if d in wanted]
            payloads[peer] = {"windows": [[d, w, state] for d, w in chosen],
                              "devices": [[d, NEVER, w] for d, w in chosen]}
            if state == CLOSED:  # which readings went on: the replica orphans the rest
                payloads[peer]["readings"] = self.windows.closed_keys(chosen)
        return payloads
