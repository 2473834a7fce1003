"""Aggregation: per-user 10-second windows (aligned, device time), replicated to a second
aggregator, closed when the user's watermark passes end + grace (or the user falls silent), then
sent through prediction, storage and notification, each acknowledged. A window is marked
`closing` on both aggregators before it leaves, and `closed` once stored and notified; a closing
window is retried (by whichever aggregator is primary then) until it is closed — every step
downstream is idempotent on (device, window), so retrying never stores twice.

By concern: ingest and replication (aggregation_ingest.py), closing (aggregation_closing.py),
rebalance and sync (aggregation_sync.py), readings found outside every stored window
(aggregation_unsent.py); the state they share is set up here."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

import trio

from services.peers.ingest_process import ClosingFirstLock, IngestProcess
from services.peers.messages.agg_ingest import OP as INGEST
from services.peers.messages.agg_state import MERGE, SYNC
from services.peers.overdue import OverdueWatch
from services.peers.recent_windows import RecentWindows
from services.peers.roles.aggregation_closing import Closing
from services.peers.roles.aggregation_ingest import IngestAndReplication
from services.peers.roles.aggregation_sync import RebalanceAndSync
from services.peers.roles.aggregation_unsent import SendingUnsent
from services.peers.window_store import WindowStore
from services.runtime.step_seconds import StepSeconds

log = logging.getLogger(__name__)

# With an ingest process, the loop's commits checkpoint the window store's WAL only once this
# much built up: the process does it otherwise, beside its calls (ingest_process.py),
# off the loop. A round's marks cost a third less that way (100 -> 60 ms to mark 1,000 windows
# closed after 1.5 M readings, 2026-12-05); the loop still checkpoints if the process has been
# idle for several rounds.
LOOP_CHECKPOINT_BYTES = 40 * 2**20  # 10,000 pages of 4 kB until 2026-12-07


class AggregationRole(IngestAndReplication, Closing, RebalanceAndSync, SendingUnsent):
    name = "aggregation"

    def __init__(self, *, settings, rpc, membership, directory, store, signer, call_role,
                 call_role_by_key):
        """`call_role` / `call_role_by_key`: how closing reaches prediction, storage and
        notification (PeerNode's); `signer`: our key and credential, for receipts."""
        self.settings, self.rpc, self.membership = settings, rpc, membership
        self.directory, self.store, self.signer = directory, store, signer
        self.call_role, self.call_role_by_key = call_role, call_role_by_key
        self.windows = WindowStore(settings.data_dir / f"aggregator-{settings.name}.db",
                                   settings.window_ms, settings.digest_key_bytes())
        self.windows.unsent_limit = settings.unsent_limit
        # One writer at a time, closing first; with an ingest process, its calls run beside
        # the rounds (ingest_process.py), else on this loop between them (yield_to_closing)
        self.writes = ClosingFirstLock()
        self._ingest_process = (IngestProcess(settings.data_dir / f"aggregator-{settings.name}.db",
                                              settings.window_ms, settings.digest_key_bytes())
                                if settings.ingest_process else None)
        if self._ingest_process is not None:
            self.windows.checkpoint_after(LOOP_CHECKPOINT_BYTES)
        self.recent = RecentWindows(settings.window_ms)  # the screen's context, in memory
        self._replicated_to: dict[str, str] = {}
        self._synced: dict[str, str | None] = {}  # device -> replica we last synced with
        self._touched: dict[str, int] = defaultdict(int)  # bumps on every write, per device
        # Rebalancing looks at every device only when the live set changed (or now and then);
        # otherwise only at devices written to since the last round.
        self._fresh: set[str] = set()
        self._rebalanced_for: list[str] | None = None
        self._next_full_rebalance = 0.0
        self.closed_windows = 0
        # Seconds the close rounds spent in each step (metrics
        # `aggregation_close_seconds_total{step}`, docs/peers.md). Each step's time includes its
        # waits (the screen's thread, the other roles' calls), except the wait for the window
        # store's writer (an ingest call writing on the ingest process): `wait_writer`.
        self.round_steps = StepSeconds()
        # The same for the masters' agg.ingest calls (`aggregation_ingest_seconds_total{step}`):
        # `sync` (with replicas first), `wait_writer` (another call or a round's marks holding the
        # window store's one writer), `write` and `replicate`. Where the writer is what masters
        # wait on, wait_writer and write say so (2026-12-07-writer-bound-masters.md).
        self.ingest_steps = StepSeconds()
        self.orphaned = 0  # acknowledged readings found outside every stored window
        self.unsent_stored = 0  # of those, readings storage now holds (as window parts)
        self.orphans_unkept = 0  # of those, dead-lettered: unsent_limit were kept already
        self.late_kept = 0  # readings ingest judged late, kept to be stored as window parts
        self.late_stored = 0  # of those, stored (their dead letters retired)
        self._unsent_waiting = trio.Event()  # set when orphans were kept (aggregation_unsent.py)
        self.refused_windows = 0  # windows parked: the screen's or storage's check refused them
        self.scrubbed_skipped = 0  # readings a due window held scrubbed (closed elsewhere)
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
        rpc.register(INGEST, self.handle_ingest)
        rpc.register(MERGE, self.handle_merge)
        rpc.register(SYNC, self.handle_sync)

    async def run(self) -> None:
        try:
            if self._ingest_process is not None:
                await self._ingest_process.start()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._close_loop)
                nursery.start_soon(self._rebalance_loop)
                nursery.start_soon(self._purge_loop)
                nursery.start_soon(self._unsent_loop)
        finally:
            if self._ingest_process is not None:
                self._ingest_process.close()

    def metrics(self) -> dict:
        process = self._ingest_process
        return {"aggregation_ingest_process": int(process is not None),
                "aggregation_ingest_process_restarts": process.restarts if process else 0,
                "aggregation_closed_windows": self.closed_windows,
                "aggregation_readings_orphaned": self.orphaned,
                "aggregation_orphans_stored": self.unsent_stored,
                "aggregation_orphans_dead_lettered": self.orphans_unkept,
                "aggregation_late_readings_kept": self.late_kept,
                "aggregation_late_readings_stored": self.late_stored,
                "aggregation_windows_refused": self.refused_windows,
                "aggregation_scrubbed_readings_skipped": self.scrubbed_skipped,
                "aggregation_windows_taken_over": self.taken_over,
                **self.round_steps.metrics("aggregation_close_seconds_total",
                                           "aggregation_close_rounds"),
                **self.ingest_steps.metrics("aggregation_ingest_seconds_total",
                                            "aggregation_ingest_calls")}

    def _replica_groups(self, devices) -> dict[str, list[str]]:
        """device lists per peer (other than us) that must hold a copy."""
        me, assign = self.rpc.self_id, self.directory.primary_and_replica
        groups: dict[str, list[str]] = defaultdict(list)
        for device in set(devices):
            for peer in assign(device):
                if peer is not None and peer != me:
                    groups[peer].append(device)
        return groups

    async def _remember(self, peers: set[str]) -> None:
        """Aggregators that now share window state with us, kept across restarts."""
        new = peers - self._known_peers
        if new:
            async with self.writes.closing():
                self.windows.remember_peers(new)
            self._known_peers |= new

    async def _merge(self, wire: dict, source: str) -> None:
        """Merge another aggregator's window state (a replica's copy is what closing relies on:
        it takes the writer lock as closing does); the orphans it reveals are kept to be
        stored (aggregation_unsent.py)."""
        async with self.writes.closing():
            orphans = self.windows.merge(wire)
        self._note_orphans(orphans, source)

    async def _purge_loop(self) -> None:
        """Every 30 s, forget the closed windows whose dedupe retention ended, a bounded chunk
        at a time with the loop let go between (window_store.purge)."""
        chunk = 2_000
        while True:
            await trio.sleep(30)
            while True:
                async with self.writes.closing():
                    purged = self.windows.purge(self.settings.dedupe_retention_s, limit=chunk)
                if purged < chunk:
                    break
                await trio.sleep(0.05)  # closing and ingest go on between chunks
