"""Aggregation: per-user 10-second windows (aligned, device time), replicated to a second
aggregator, closed when the user's watermark passes end + grace (or the user falls silent), then
sent through prediction, storage and notification, each acknowledged. A window is marked
`closing` on both aggregators before it leaves, and `closed` once stored and notified; a closing
window is retried (by whichever aggregator is primary then) until it is closed — every step
downstream is idempotent on (device, window), so retrying never stores twice."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict

import trio

from services.ingest.reading import canonical
from services.peers.messages.agg_ingest import OP as INGEST
from services.peers.messages.agg_ingest import REJECTED, IngestReply, IngestRequest
from services.peers.messages.agg_state import MERGE, SYNC, MergeReply, WindowState
from services.peers.messages.windows import (
    NOTIFY,
    PREDICT,
    STORE,
    NotifyRequest,
    PredictRequest,
    StoreRequest,
)
from services.peers.overdue import OverdueWatch
from services.peers.receipts import sign_receipt
from services.peers.rejected import dead_letter_rejected
from services.peers.rpc import PeerUnavailable
from services.peers.window_store import CLOSED, CLOSING, NEVER, OPEN, WindowStore, row_digest

log = logging.getLogger(__name__)
_UNSYNCED = object()


class AggregationRole:
    name = "aggregation"

    def __init__(self, node):
        self.node = node
        settings = node.settings
        self.windows = WindowStore(settings.data_dir / f"aggregator-{settings.name}.db",
                                   settings.window_ms, settings.digest_key_bytes())
        self._replicated_to: dict[str, str] = {}
        self._synced: dict[str, str | None] = {}  # device -> replica we last synced with
        self._touched: dict[str, int] = defaultdict(int)  # bumps on every write, per device
        # Rebalancing looks at every device only when the live set changed (or now and then);
        # otherwise only at devices written to since the last round.
        self._fresh: set[str] = set()
        self._rebalanced_for: list[str] | None = None
        self._next_full_rebalance = 0.0
        self.closed_windows = 0
        self.orphaned = 0  # acknowledged readings found outside every stored window
        self.taken_over = 0  # windows closed as replica: the primary left them (overdue.py)
        self._watch = OverdueWatch(settings.takeover_after_s)
        self._last_input = time.monotonic()  # wall clock of the last reading or merge
        self._first_due: dict[tuple[str, int], float] = {}
        self._due_backlog = 0  # windows due beyond what the current close round takes
        self._round_done = trio.Event()  # set (and replaced) after every close round
        self._closing_round = False
        self._known_peers = self.windows.known_peers()
        self._alone_since: float | None = time.monotonic()  # no other aggregator live since
        self._latency_file = None
        if settings.latency_log:
            settings.metrics_dir.mkdir(parents=True, exist_ok=True)
            self._latency_file = open(settings.metrics_dir / f"{settings.name}-latency.txt", "a")  # noqa: SIM115
        node.rpc.register(INGEST, self.handle_ingest)
        node.rpc.register(MERGE, self.handle_merge)
        node.rpc.register(SYNC, self.handle_sync)

    # -- helpers ------------------------------------------------------------------------------
    def _replica_groups(self, devices) -> dict[str, list[str]]:
        """device lists per peer (other than us) that must hold a copy."""
        me, assign = self.node.rpc.self_id, self.node.directory.primary_and_replica
        groups: dict[str, list[str]] = defaultdict(list)
        for device in set(devices):
            for peer in assign(device):
                if peer is not None and peer != me:
                    groups[peer].append(device)
        return groups

    async def _replicate(self, groups: dict[str, dict], want_receipts: bool = False) -> list[dict]:
        """Send each peer its payload; raise if any does not acknowledge. Returns the receipts
        the peers signed (asked for when readings are replicated on ingest)."""
        failures, receipts = [], []

        async def one(peer: str, payload: dict) -> None:
            try:
                request = WindowState.of(payload, want_receipts)
                reply = await self.node.rpc.call(peer, MERGE, request)
                if reply.receipt is not None:
                    receipts.append(reply.receipt)
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, PeerUnavailable):
                    self.node.membership.mark_dead(peer)
                failures.append(peer)

        async with trio.open_nursery() as nursery:
            for peer, payload in groups.items():
                nursery.start_soon(one, peer, payload)
        self._remember(set(groups) - set(failures))
        if failures:
            raise PeerUnavailable(f"replication to {len(failures)} aggregator(s) failed")
        return receipts

    def _remember(self, peers: set[str]) -> None:
        """Aggregators that now share window state with us, kept across restarts."""
        new = peers - self._known_peers
        if new:
            self.windows.remember_peers(new)
            self._known_peers |= new

    def _dead_letter_orphans(self, orphans: list[dict], source: str) -> None:
        """Readings a master saw acknowledged that no stored window holds (their window was
        closed elsewhere without them): parked with the reason, never dropped in silence."""
        if orphans:
            log.warning("%d acknowledged reading(s) outside a closed window (%s; e.g. device "
                        "…%s seq %s): dead-lettered", len(orphans), source,
                        orphans[0]["userId"][-6:], orphans[0]["seq"])
        for reading in orphans:
            self.node.store.dead_letter("reading", canonical(reading),
                                        "late: its window was stored without it")
        self.orphaned += len(orphans)

    def _may_close_alone(self) -> bool:
        """With no replica to sync with, a primary may close a user's windows only if no other
        aggregator can hold readings it lacks: none ever shared state with us (one aggregator
        in the deployment), or the others have been gone for solo_close_after_s. A peer killed
        and restarted is back well within that; one that never comes back costs its users'
        windows that delay once, and whatever it held arrives late and is dead-lettered."""
        if not self._known_peers - {self.node.rpc.self_id}:
            return True
        return (self._alone_since is not None and time.monotonic() - self._alone_since
                >= self.node.settings.solo_close_after_s)

    # -- data plane ---------------------------------------------------------------------------
    async def handle_ingest(self, request: IngestRequest, caller: str) -> IngestReply:
        """Accept a master's readings for the users we are primary for (in our own view of the
        live aggregators); name the others in `not_primary` — the master keeps them pending and
        routes them again. A reading accepted by an aggregator that is not its user's primary
        (views differ while a peer dies or comes back) can miss the window the real primary
        closes: it would be acknowledged and end up a dead letter instead of stored."""
        me, assign = self.node.rpc.self_id, self.node.directory.primary_and_replica
        readings, positions, elsewhere = [], [], []
        for index, reading in enumerate(request.readings):
            if assign(reading["userId"])[0] == me:
                readings.append(reading)
                positions.append(index)
            else:
                elsewhere.append(reading)
        not_primary = [[r["userId"], r["seq"]] for r in elsewhere]
        if not readings:
            return IngestReply({}, not_primary)
        counts, rejected, receipts = await self._accept(readings, request.attestations)
        return IngestReply(counts, not_primary,
                           [[positions[i], outcome] for i, outcome in rejected], receipts)

    async def _accept(self, readings: list[dict], documents: dict) -> tuple[dict, list, list]:
        """Counts by outcome, the readings dead-lettered ([index in `readings`, outcome]), and
        the replicas' receipts for the rest."""
        attestations = self._attestations(readings, documents)
        await self.yield_to_closing()
        await self._sync_before_accepting({r["userId"] for r in readings})
        outcomes = self.windows.ingest(readings, attestations=attestations)
        self._last_input = time.monotonic()
        for reading in readings:
            self._touched[reading["userId"]] += 1
        self._fresh.update(r["userId"] for r in readings)
        counts: dict[str, int] = defaultdict(int)
        keep, rejected = [], []
        for index, (reading, outcome) in enumerate(zip(readings, outcomes)):
            counts[outcome] += 1
            if outcome in REJECTED:
                dead_letter_rejected(self.node.store, reading, outcome)
                rejected.append((index, outcome))
            else:
                keep.append(reading)  # duplicates too: the replica may have missed them
        receipts = []
        if keep:
            by_peer = self._replica_groups(r["userId"] for r in keep)
            payloads = {}
            for peer, devices in by_peer.items():
                wanted = set(devices)
                payloads[peer] = self.windows.rows_for(
                    [r for r in keep if r["userId"] in wanted], attestations)
            receipts = await self._replicate(payloads, want_receipts=True)
        return dict(counts), rejected, receipts

    async def yield_to_closing(self) -> None:
        """Backpressure: while windows that fell due are being (or wait to be) closed, wait for
        the round. Closing comes first — its latency is what users see, and a round is short —
        so ingest takes one batch per round while a backlog lasts, and the masters slow down
        with it (readings are safe in the queue meanwhile). A master in the same process asks
        too before it pulls and validates more, so the round has the CPU to itself. The wait is
        capped well inside the RPC timeout: a slow round must not make masters think this
        aggregator is dead."""
        if self._due_backlog or self._closing_round:
            with trio.move_on_after(min(1.0, self.node.settings.rpc_timeout_s / 4)):
                await self._round_done.wait()

    @staticmethod
    def _attestations(readings: list[dict], documents: dict) -> dict[str, tuple[str, str]]:
        """Name each reading's attestation (by the master's signature) in its "att"; storage
        checks them (services/peers/attestation.py), we only keep them with the readings."""
        out, by_device = {}, {}
        for device, document in documents.items():
            if isinstance(document, dict) and isinstance(document.get("sig"), str):
                out[document["sig"]] = (device, json.dumps(document))
                by_device[device] = document["sig"]
        for reading in readings:
            reading["att"] = by_device.get(reading["userId"])
        return out

    async def handle_merge(self, state: WindowState, caller: str) -> MergeReply:
        self._remember({caller})
        self._dead_letter_orphans(self.windows.merge(state.to_wire()),
                                  f"merge from …{caller[-6:]}")
        if state.readings:
            self._last_input = time.monotonic()
        for row in state.devices:
            self._touched[row[0]] += 1
            self._fresh.add(row[0])
        receipt = self._receipt(state.readings, caller) if state.want_receipt else None
        return MergeReply(len(state.readings), receipt)

    def _receipt(self, rows: list[list], primary: str) -> dict | None:
        """Our signed receipt (services/peers/receipts.py) for the readings of this merge that we
        now hold: each row's digest recomputed from its content, and the one we hold the same."""
        rows = [r for r in rows if r[4] is not None]
        held = self.windows.digests_held([(r[0], r[1]) for r in rows])
        covered: dict[str, set] = defaultdict(set)
        for device, seq, _, ts, hr, rr, digest, *_ in rows:
            if digest == held.get((device, seq)) == row_digest(hr, ts, rr, self.windows.digest_key):
                covered[device].add((seq, digest))
        if not covered:
            return None
        node = self.node
        return sign_receipt(node.key_pair, node.peer_id, node.gate.own_document, primary, covered)

    # -- loops --------------------------------------------------------------------------------
    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._close_loop)
            nursery.start_soon(self._rebalance_loop)
            nursery.start_soon(self._purge_loop)

    async def _close_loop(self) -> None:
        settings = self.node.settings
        while True:
            if self._due_backlog:
                await trio.lowlevel.checkpoint()  # more is due: next round at once
            else:
                await trio.sleep(settings.close_tick_s)
            due = []
            now = time.monotonic()
            # The stream stopped: nothing came in for a while and no master is pulling readings.
            # (Silence alone is not enough: masters stalled on another aggregator send nothing.)
            quiet = (now - self._last_input >= settings.quiet_flush_s
                     and not self.node.membership.any_queue_busy())
            as_replica = []
            for d, w, s in self.windows.due(settings.grace_ms, int(settings.idle_close_s * 1000),
                                            flush=quiet):
                if self.closable(d):
                    due.append((d, w, s))
                    self._first_due.setdefault((d, w), now)  # latency counts from here
                elif self._is_replica(d):
                    as_replica.append((d, w, s))
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
                log.info("closing windows failed, will retry: %s", str(exc)[:160])
                self._due_backlog = 0  # retry after a tick, not in a busy loop
            finally:
                self._closing_round = False
                self._round_done.set()
                self._round_done = trio.Event()

    def closable(self, device: str) -> bool:
        """We may close this user's windows: we are its primary and have synced with its
        replica since the live set last changed — or it has none and we need not wait for one
        (see _may_close_alone; the rebalance loop records both)."""
        primary, replica = self.node.directory.primary_and_replica(device)
        return primary == self.node.rpc.self_id and self._synced.get(device, _UNSYNCED) == replica

    def _is_replica(self, device: str) -> bool:
        return self.node.directory.primary_and_replica(device)[1] == self.node.rpc.self_id

    async def _take_over(self, overdue: list[tuple]) -> None:
        """Close windows our live primary acknowledged and left unclosed (see overdue.py)."""
        primary = self.node.directory.primary_and_replica(overdue[0][0])[0] or "?"
        log.warning("windows due for %.0f s not closed by their primary (e.g. %s): closing %d "
                    "as replica", self.node.settings.takeover_after_s, primary[-8:], len(overdue))
        try:
            await self.close(overdue, takeover=True)
            self.taken_over += len(overdue)
        except Exception as exc:  # they stay due; the next tick retries  # noqa: BLE001
            log.info("taking over windows failed, will retry: %s", str(exc)[:160])

    async def close(self, due: list[tuple], takeover: bool = False) -> None:
        """Send windows on (see the module docstring). In a takeover the primary that left them
        may not take our marks: telling it is best effort, the windows go on regardless."""
        node = self.node
        opening = [(d, w) for d, w, s in due if s == OPEN]
        if opening:
            self.windows.mark(opening, CLOSING)
        everything = [(d, w) for d, w, _ in due]
        marks = self._marks_payloads(everything, CLOSING)
        try:
            await self._replicate(marks)
        except PeerUnavailable:
            if not takeover:
                raise

        readings = self.windows.readings_of(everything)
        windows = [{"device_id": device, "window_start_ms": window_start,
                    "readings": readings[(device, window_start)]}
                   for device, window_start in everything]
        predicted = await node.call_role("prediction", PREDICT, PredictRequest(windows))
        attested = self.windows.attestations_of(everything)
        items = [dict(w, prediction=p, attestations=attested[(w["device_id"], w["window_start_ms"])])
                 for w, p in zip(windows, predicted.predictions)]
        await node.call_role("storage", STORE, StoreRequest(items, self.windows.window_ms))
        stored_at = time.monotonic()
        await node.call_role_by_key("notification", NOTIFY, [
            {"device_id": i["device_id"], "window_start_ms": i["window_start_ms"],
             "prediction": i["prediction"]} for i in items], key=lambda i: i["device_id"],
            request=NotifyRequest)
        self._dead_letter_orphans(self.windows.mark_closed(readings), "added while closing")
        try:
            await self._replicate(self._marks_payloads(everything, CLOSED))
        except PeerUnavailable:
            pass  # the replica still has `closing`: a takeover would redo idempotent steps
        self.closed_windows += len(everything)
        latencies = [stored_at - self._first_due.pop(key, stored_at) for key in everything]
        if self._latency_file is not None:  # "<wall clock when due> <due → stored ms>" lines
            wall = time.time() - (time.monotonic() - stored_at)
            self._latency_file.write("".join(f"{wall - x:.3f} {x * 1000:.1f}\n"
                                             for x in latencies))
            self._latency_file.flush()

    def metrics(self) -> dict:
        return {"aggregation_closed_windows": self.closed_windows,
                "aggregation_readings_orphaned": self.orphaned,
                "aggregation_windows_taken_over": self.taken_over}

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

    async def _rebalance_loop(self) -> None:
        """Hand state to the aggregators that own it now; keep our replica complete."""
        while True:
            await trio.sleep(self.node.settings.rebalance_interval_s)
            try:
                await self.rebalance()
            except Exception as exc:  # noqa: BLE001
                self._rebalanced_for = None  # look at everything next round
                log.info("rebalance incomplete, will retry: %s", type(exc).__name__)

    async def rebalance(self) -> None:
        """Hand over devices we no longer own; as primary, sync both ways with our replica
        before closing any of a device's windows (a primary back from the dead must first learn
        what its replica accepted meanwhile, or it would store a window short of readings)."""
        me, aggregators = self.node.rpc.self_id, self.node.membership.live("aggregation")
        now = time.monotonic()
        if aggregators != [me]:
            self._alone_since = None
        elif self._alone_since is None:
            self._alone_since = now
        if aggregators != self._rebalanced_for or now >= self._next_full_rebalance:
            candidates = self.windows.devices()
            self._rebalanced_for = aggregators
            self._next_full_rebalance = now + 10 * self.node.settings.rebalance_interval_s
        else:
            candidates = list(self._fresh)
        self._fresh = set()
        moving: dict[str, list[str]] = defaultdict(list)
        syncing: dict[str, list[str]] = defaultdict(list)
        leaving: list[str] = []
        for device in candidates:
            primary, replica = self.node.directory.primary_and_replica(device)
            if me not in (primary, replica):
                targets = [p for p in (primary, replica) if p is not None]
                if not targets:
                    continue  # nobody to hand it to: keep it
                leaving.append(device)
                for peer in targets:
                    moving[peer].append(device)
            elif me == primary:
                if replica is None:
                    if self._may_close_alone():
                        self._synced[device] = None
                elif self._synced.get(device, _UNSYNCED) != replica:
                    syncing[replica].append(device)
            elif self._replicated_to.get(device) != primary:
                moving[primary].append(device)  # a new primary may not know this device yet
        versions = {d: self._touched[d] for d in leaving}
        failures = set()
        for peer, devices in moving.items():
            try:
                await self.node.rpc.call(peer, MERGE, WindowState.of(self.windows.export(devices)))
                for device in devices:
                    if device not in leaving:
                        self._replicated_to[device] = peer
            except Exception:  # noqa: BLE001
                self.node.membership.mark_dead(peer)
                failures.update(devices)
                self._rebalanced_for = None
        for peer, devices in syncing.items():
            try:
                theirs = await self.node.rpc.call(peer, SYNC,
                                                  WindowState.of(self.windows.export(devices)))
                self._remember({peer})
                self._dead_letter_orphans(self.windows.merge(theirs.to_wire()),
                                          f"sync with …{peer[-6:]}")
                for device in devices:
                    self._synced[device] = peer
            except Exception:  # noqa: BLE001
                self.node.membership.mark_dead(peer)
                self._rebalanced_for = None
        # A device written to while we were handing it over stays until the next round.
        done_leaving = [d for d in leaving
                        if d not in failures and self._touched[d] == versions[d]]
        if done_leaving:
            self.windows.drop(done_leaving)
            for device in done_leaving:
                self._replicated_to.pop(device, None)
                self._synced.pop(device, None)

    async def _sync_before_accepting(self, devices: set[str]) -> None:
        """As primary, learn what our replica holds before accepting a user's readings: back
        from a crash, the replica may have closed windows meanwhile, and a reading we accepted
        into one of those would be acknowledged, then never stored."""
        me = self.node.rpc.self_id
        by_replica: dict[str, list[str]] = defaultdict(list)
        for device in devices:
            primary, replica = self.node.directory.primary_and_replica(device)
            if primary == me and replica is not None \
                    and self._synced.get(device, _UNSYNCED) != replica:
                by_replica[replica].append(device)
        for replica, wanted in by_replica.items():
            try:
                theirs = await self.node.rpc.call(replica, SYNC,
                                                  WindowState.of(self.windows.export(wanted)))
            except PeerUnavailable:
                self.node.membership.mark_dead(replica)
                raise
            self._remember({replica})
            self._dead_letter_orphans(self.windows.merge(theirs.to_wire()),
                                      f"sync with …{replica[-6:]}")
            for device in wanted:
                self._synced[device] = replica

    async def handle_sync(self, state: WindowState, caller: str) -> WindowState:
        """The primary's half of a two-way sync: take its state, give back ours."""
        devices = sorted({row[0] for row in state.devices})
        ours = self.windows.export(devices)
        await self.handle_merge(state, caller)
        return WindowState.of(ours)

    async def _purge_loop(self) -> None:
        while True:
            await trio.sleep(30)
            self.windows.purge(self.node.settings.dedupe_retention_s)
