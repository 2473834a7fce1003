"""An aggregator's ingest on a worker process: its own connection to the window-store file, so
the SQLite writes and sealing of every agg.ingest call run beside the event loop's close rounds
instead of taking turns with them (docs/decisions/2026-12-05-all-in-one-loop-bound.md).

The window store's semantics hold across the two connections because SQLite serialises their
write transactions: a closing mark the loop commits before an ingest starts makes that
window's readings `late` there, as it does in one process. The loop's own writes (closing marks,
merges, the purge) take `ClosingFirstLock`, so the loop never waits inside SQLite for the
worker's write lock, and a closing write goes before every ingest call waiting for it.

The worker's WAL checkpoints run beside its calls, not inside them (CheckpointsBesideCalls).

A spawned child (no network, no key but the file's seal key beside it, read by WindowStore as
the parent does): a worker that dies is replaced, and the call it held is ingested in-process by
the caller (`ingest` returns None). Nothing is lost: a call the worker committed before it died
comes back as duplicates, which count as acknowledged, as a redelivery does."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from services.peers.worker_processes import SingleWorker, die_with_parent
from services.runtime.sqlite_helpers import connect

log = logging.getLogger(__name__)


# The WAL's length past which a call first waits for the checkpoint under way and catches up;
# below it, a call writes beside the checkpoint. Under the loop's own autocheckpoint
# (aggregation.py's LOOP_CHECKPOINT_BYTES), so that the loop's commits never checkpoint; a few
# calls' worth, so most calls do not wait.
CATCH_UP_BYTES = 20 * 2**20


class CheckpointsBesideCalls:
    """The worker's WAL checkpoints (copying what the WAL holds back into the file), run on a
    thread of their own after a call has returned, beside the calls that follow.

    In the commit (SQLite's autocheckpoint) a checkpoint was ~40% of a call, all of it while
    the loop's closing writes and the other masters' calls waited for the writer
    (ClosingFirstLock is released only when the call returns). Run between calls, each call
    first waited for the last one's checkpoint: calls come back to back in the live stream, so
    that was 36–54 ms of a ~150-ms call (docs/decisions/2026-12-07-checkpoints-beside-ingest-calls.md).
    Now a call writes beside the checkpoint (a PASSIVE one copies what was committed when it
    began, and blocks no writer). Such a checkpoint never copies everything while calls keep
    coming, and SQLite restarts the WAL from its top only once all of it is copied: the WAL
    would grow without end (docs/decisions/2026-12-05-all-in-one-loop-bound.md). So once it is
    CATCH_UP_BYTES long, the next call waits for the checkpoint and catches up first, and its
    own write restarts the WAL."""

    def __init__(self, path: Path, catch_up_bytes: int = CATCH_UP_BYTES):
        self._conn = connect(path, "NORMAL", busy_timeout_s=5.0)
        self._running: threading.Thread | None = None
        (page_size,) = self._conn.execute("PRAGMA page_size").fetchone()
        self._catch_up_frames = catch_up_bytes // page_size  # a frame holds one page
        self.frames = 0  # the WAL's length when the last checkpoint ended

    def before_call(self) -> bool:
        """Catch up first if the WAL is long enough; whether it did."""
        if self.frames < self._catch_up_frames:
            return False
        self.finish()
        return True

    def after_call(self) -> None:
        """A checkpoint of what the call wrote, unless one is still under way (it goes on, and
        what it leaves waits for the next)."""
        if self._running is None or not self._running.is_alive():
            self._running = threading.Thread(target=self._checkpoint, name="wal-checkpoint",
                                             daemon=True)
            self._running.start()

    def finish(self) -> None:
        """Wait for the checkpoint under way, then copy all that is left."""
        if self._running is not None:
            self._running.join()
            self._running = None
        self._checkpoint()
        self.frames = 0  # the next write restarts the WAL from its top

    def _checkpoint(self) -> None:
        try:
            _, self.frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except Exception as exc:  # noqa: BLE001 - the next call's catch-up, or SQLite's own, does it
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)


_store = None  # in the worker: its WindowStore
_checkpoints: CheckpointsBesideCalls | None = None


def _open(path: str, window_ms: int, digest_key: bytes) -> None:
    global _store, _checkpoints
    die_with_parent()
    from services.peers.window_store import WindowStore

    _store = WindowStore(Path(path), window_ms, digest_key)
    _store.checkpoint_after(0)  # none in the commits: CheckpointsBesideCalls
    _checkpoints = CheckpointsBesideCalls(Path(path))


def _ingest(readings: list[dict], now: float, attestations, digests) -> list[str]:
    _checkpoints.before_call()
    try:
        return _store.ingest(readings, now=now, attestations=attestations, digests=digests)
    finally:
        _checkpoints.after_call()


class ClosingFirstLock:
    """One writer at a time on the window store, closing first: an ingest call waits while a
    closing write is waiting, and one that got the lock while a closing write waited hands it
    on. A round's marks wait for at most the one ingest already writing (their latency is what
    users see), never for the calls queued beside it."""

    def __init__(self):
        self._lock = trio.Lock()
        self._closing_waiting = 0
        self._closing_done = trio.Event()

    @asynccontextmanager
    async def closing(self):
        self._closing_waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._closing_waiting -= 1
            if not self._closing_waiting:
                self._closing_done.set()
                self._closing_done = trio.Event()
        try:
            yield
        finally:
            self._lock.release()

    @asynccontextmanager
    async def ingest(self):
        while True:
            while self._closing_waiting:
                await self._closing_done.wait()
            await self._lock.acquire()
            if not self._closing_waiting:
                break
            self._lock.release()  # a closing write queued while we waited: it goes first
        try:
            yield
        finally:
            self._lock.release()


class IngestProcess(SingleWorker):
    def __init__(self, path: Path, window_ms: int, digest_key: bytes):
        super().__init__("ingest", _open, (str(path), window_ms, digest_key))

    async def ingest(self, readings: list[dict], now: float, attestations,
                     digests) -> list[str] | None:
        """The outcomes (WindowStore.ingest), or None when the worker died holding the call:
        the caller ingests it in-process (the call's transaction never committed there)."""
        return await self.call(_ingest, readings, now, attestations, digests)
