"""Master: pulls readings from the queue (competing with other masters), validates them, routes
each user's readings to its aggregator, and completes a queue message only once every reading in
it is acknowledged — durably stored in the aggregator's replicated window state — or
dead-lettered with its reason. Anything not acknowledged is abandoned and comes back."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict

import trio

from services.ingest.device_directory import CachedDevices
from services.peers.attestation import attest
from services.peers.master_validation import MasterValidation
from services.peers.messages.agg_ingest import OP as INGEST
from services.peers.messages.agg_ingest import IngestRequest
from services.peers.receipts import ReceiptCheck
from services.peers.rejected import dead_letter_rejected
from services.peers.rpc import PeerUnavailable, RemoteError
from services.runtime.step_seconds import Laps, StepSeconds

log = logging.getLogger(__name__)


class MasterRole:
    name = "master"

    def __init__(self, *, settings, ingest_settings, queue, store, rpc, membership, directory,
                 signer, receipts: ReceiptCheck | None, closing_gate=None,
                 records_for_workers=None):
        """`signer`: our key and credential, for attestations; `receipts`: the replication
        receipt check; `closing_gate`: an aggregator in this process lets its closing round go
        first (its yield_to_closing), None when there is none; `records_for_workers`: the
        settings of `store`, for validation workers (master_validation.py; None: in-process)."""
        self.settings, self.ingest_settings = settings, ingest_settings
        self.queue, self.store, self.rpc = queue, store, rpc
        self.membership, self.directory, self.signer = membership, directory, signer
        self.receipts = receipts
        self.closing_gate = closing_gate
        self.digest_key = settings.digest_key_bytes()  # attestations carry keyed digests
        self.validation = MasterValidation(
            workers=settings.validation_workers, devices=CachedDevices(store),
            ingest_settings=ingest_settings, digest_key=self.digest_key,
            records_settings=records_for_workers)
        self._queue_lock = trio.Lock()  # one SQLite/SDK handle: one caller at a time
        self.completed = 0
        self.readings_accepted = 0  # valid readings its aggregators acknowledged (status view)
        self.receipted = 0  # readings another aggregator's receipt covered
        self.unreceipted = 0  # readings acknowledged without a receipt: kept pending
        self.receipts_refused: Counter[str] = Counter()  # receipts that did not count, by reason
        self._last_pulled = 0.0  # monotonic time of the last non-empty receive
        self._batches_held = 0  # pulled and neither completed nor given back yet
        # When the oldest message not yet completed was sent (None: the queue is empty, or it
        # cannot tell): the source watermark our presence notes carry (queues/base.py).
        self.queue_low_ms: int | None = None
        # Seconds its loops spent in each step (metrics `master_batch_seconds_total{step}`,
        # docs/peers.md): gate (an aggregator in this process closing first), pull, idle (the
        # queue was empty), validate, route (the rejects dead-lettered, then routing until
        # every reading is acknowledged or the batch is given up), complete and give_back.
        self.batch_steps = StepSeconds()

    def busy(self) -> bool:
        """Still pulling readings, or holding some it could not route yet (for up to
        master_route_patience_s, longer than quiet_flush_s): the stream has not stopped, and
        aggregators must not flush windows those readings belong to."""
        return (self._batches_held > 0
                or time.monotonic() - self._last_pulled < self.settings.quiet_flush_s)

    def metrics(self) -> dict:
        out = {"master_completed_messages": self.completed,
               "master_readings_accepted": self.readings_accepted,
               "master_readings_receipted": self.receipted,
               "master_readings_unreceipted": self.unreceipted,
               **{f'master_receipts_refused_total{{reason="{reason}"}}': n
                  for reason, n in self.receipts_refused.items()},
               **self.validation.metrics(),
               **self.batch_steps.metrics("master_batch_seconds_total", "master_batches")}
        return out

    async def _queue_op(self, fn, *args):
        async with self._queue_lock:
            return await trio.to_thread.run_sync(fn, *args)

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_queue)
                await self.validation.start()
                await self._settle()
                for _ in range(self.settings.master_concurrency):
                    nursery.start_soon(self._loop)
        finally:
            self.validation.close()

    async def _watch_queue(self) -> None:
        """Keep queue_low_ms fresh: a note then carries a watermark at most one presence
        interval old (older only holds windows open a little longer), and an aggregator in this
        process, which reads it every close tick, one at most a tick old."""
        oldest = getattr(self.queue, "oldest_pending_ms", None)
        if oldest is None:
            return
        while True:
            try:
                self.queue_low_ms = await self._queue_op(oldest)
            except Exception as exc:  # noqa: BLE001 - the last value stands; the next try may work
                log.debug("reading the queue's oldest message failed: %s", type(exc).__name__)
            await trio.sleep(min(self.settings.presence_interval_s, self.settings.close_tick_s))

    async def _settle(self) -> None:
        """Wait until the live aggregators we see stayed the same for master_settle_s."""
        settle = self.settings.master_settle_s
        seen, since = None, trio.current_time()
        while True:
            live = self.membership.live("aggregation")
            if live != seen:
                seen, since = live, trio.current_time()
            elif live and trio.current_time() - since >= settle:
                return
            await trio.sleep(min(0.1, max(settle / 4, 0.01)))

    async def _loop(self) -> None:
        settings = self.settings
        while True:
            if not self.membership.live("aggregation"):
                await trio.sleep(settings.master_idle_poll_s)
                continue
            laps = self.batch_steps.laps()
            if self.closing_gate is not None:  # several roles in one process: closing first
                await self.closing_gate()
                laps.lap("gate")
            messages = await self._queue_op(self.queue.receive, settings.master_batch)
            laps.lap("pull")
            if messages:
                self._last_pulled = time.monotonic()
            if not messages:
                await trio.sleep(settings.master_idle_poll_s)
                laps.lap("idle")
                continue
            self.batch_steps.count()
            self._batches_held += 1
            try:
                await self._handle(messages, laps)
            finally:
                self._batches_held -= 1

    async def _handle(self, messages, laps: Laps) -> None:
        try:
            async with trio.open_nursery() as renewing:
                renewing.start_soon(self._keep_locked, messages)
                done, failed = await self.process(messages, laps)
                renewing.cancel_scope.cancel()
        except Exception as exc:  # never lose a message to a bug: give it back  # noqa: BLE001
            log.warning("master batch failed: %s", type(exc).__name__)
            done, failed = [], messages
        if done:
            await self._queue_op(self.queue.complete, done)
            self.completed += len(done)
            laps.lap("complete")
        if failed:
            await self._queue_op(self.queue.abandon, failed)
            await trio.sleep(self.settings.master_idle_poll_s)
            laps.lap("give_back")

    async def _keep_locked(self, messages) -> None:
        """Renew the batch's locks while we work on it: on a slow machine a batch can take
        longer than the lock, and an expired lock hands the batch to another master — over and
        over, until the queue parks good readings as poison (max delivery count)."""
        interval = max(0.05, self.ingest_settings.lock_s / 3)
        while True:
            await trio.sleep(interval)
            await self._queue_op(self.queue.renew, messages)

    async def process(self, messages, laps: Laps | None = None):
        """Validate, dead-letter what is invalid, then route until every valid reading is
        acknowledged — retrying for up to master_route_patience_s (the locks are renewed
        meanwhile, _keep_locked): at once while a round makes progress (the rest were answered
        `not_primary`: views differ for a moment), else as soon as our view of the aggregators
        changes or after a backoff. A transient failure must not cost the message a delivery
        (abandoning does, and max_delivery_count would soon park good readings as poison: in
        the chaos kill matrix a 20 s stall of a saturated cluster parked 240 of 600)."""
        laps = laps or self.batch_steps.laps()
        checked = await self.validation.check([m.body for m in messages], int(time.time() * 1000))
        laps.lap("validate")
        pending: list[list[dict]] = []
        digests: dict[int, str] = {}  # id(reading) -> its keyed digest, for its attestation
        for outcome in checked:
            for payload, reason in outcome.rejects:
                self.store.dead_letter("reading", payload, reason)
            digests.update(zip(map(id, outcome.readings), outcome.digests))
            pending.append(outcome.readings)

        valid_counts = [len(readings) for readings in pending]
        deadline = time.monotonic() + self.settings.master_route_patience_s
        backoff = 0.1
        while any(pending):
            before = sum(map(len, pending))
            await self._route_once(pending, digests)
            left = sum(map(len, pending))
            if not left or time.monotonic() + backoff > deadline:
                break
            if left < before:  # progress: what is left goes again at once, with today's view
                backoff = 0.1
                continue
            # nothing taken: wait for our view of the aggregators to change, or back off
            with trio.move_on_after(backoff):
                await self.membership.changed.wait()
            backoff = min(backoff * 2, 2.0)
        laps.lap("route")
        done = [m for m, rest in zip(messages, pending) if not rest]
        self.readings_accepted += sum(n for n, rest in zip(valid_counts, pending) if not rest)
        failed = [m for m, rest in zip(messages, pending) if rest]
        return done, failed

    async def _route_once(self, pending: list[list[dict]], digest_by_id: dict[int, str]) -> None:
        """One attempt: send each pending reading to its primary; drop what is acknowledged."""
        aggregators = self.membership.live("aggregation")
        if not aggregators:
            return
        by_aggregator: dict[str, list[dict]] = defaultdict(list)
        assign = self.directory.primary_and_replica
        user = None  # a message's readings are one device's: one lookup for each run of them
        for readings in pending:
            for reading in readings:
                if reading["userId"] != user:
                    user = reading["userId"]
                    primary = assign(user)[0]
                if primary is not None:  # none live right now: stays pending, retried
                    by_aggregator[primary].append(reading)
        acked: set[int] = set()
        # One aggregator in our view (one-aggregator deployments, the all-in-one): it has no
        # replica to sign receipts, and none is asked for.
        several = len(aggregators) > 1

        async def send(aggregator: str, readings: list[dict]) -> None:
            try:
                digests = [digest_by_id[id(r)] for r in readings]
                signer = self.signer
                attestations = attest(signer.key_pair, signer.peer_id, signer.credential,
                                      readings, self.digest_key, digests)
                reply = await self.rpc.call(aggregator, INGEST,
                                            IngestRequest(readings, attestations))
                # An aggregator in our own process runs our code: its word is ours.
                remote = aggregator != signer.peer_id
                settled = self._acknowledged(aggregator, reply, readings, digests, remote,
                                             needs_receipts=several and remote)
                acked.update(id(r) for r in settled)
            except PeerUnavailable:
                self.membership.mark_dead(aggregator)
            except RemoteError as exc:
                log.info("aggregator refused a batch: %s", str(exc)[:120])

        async with trio.open_nursery() as nursery:
            for aggregator, readings in by_aggregator.items():
                nursery.start_soon(send, aggregator, readings)
        for readings in pending:
            readings[:] = [r for r in readings if id(r) not in acked]

    def _acknowledged(self, aggregator: str, reply, readings: list[dict], digests: list[str],
                      remote: bool, needs_receipts: bool) -> list[dict]:
        """The readings an agg.ingest reply settles. Readings of users it is not primary for
        (its view differs from ours for the moment) stay pending: routed again with a fresh
        view. Readings it reports rejected (late, replay) are dead-lettered here too. The rest
        count only under a valid receipt from another aggregator, when receipts are needed."""
        elsewhere = {(u, q) for u, q in reply.not_primary}
        rejected = dict(reply.rejected)  # index in the request -> outcome
        settled, kept, kept_digests = [], [], []
        for index, (reading, digest) in enumerate(zip(readings, digests, strict=True)):
            if (reading["userId"], reading["seq"]) in elsewhere:
                continue
            outcome = rejected.get(index)
            if outcome is not None:
                if remote:  # its claim, not our proof: parked with the reason, never just gone
                    dead_letter_rejected(self.store, reading, outcome)
                settled.append(reading)
            else:
                kept.append(reading)
                kept_digests.append(digest)
        if not needs_receipts or not kept:
            return settled + kept
        covered, refused = self.receipts.covered(reply.receipts, aggregator, kept, kept_digests)
        for reason in refused:
            self.receipts_refused[reason] += 1
        missing = covered.count(False)
        self.receipted += len(covered) - missing
        if missing:
            self.unreceipted += missing
            log.warning("aggregator %s acknowledged %d reading(s) without a valid replication "
                        "receipt (receipts refused: %s): kept pending", aggregator[-8:], missing,
                        ",".join(sorted(set(refused))) or "none sent")
        return settled + [r for r, ok in zip(kept, covered, strict=True) if ok]
