"""Worker processes a peer spawns for CPU or SQLite work off its event loop (validation,
master_validation.py; an aggregator's ingest, ingest_process.py; the alert sender,
notification_sender.py): how they die with the peer, and how a single one is replaced when it
dies. How they are started and called: pipe_worker.py."""

from __future__ import annotations

import logging
import os
import signal

from services.peers.pipe_worker import PipeWorker, WorkerDied

log = logging.getLogger(__name__)


def die_with_parent() -> None:
    """A peer killed -9 must not leave its workers behind (Linux: the parent-death signal);
    called first in each worker's initializer."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the workers still exit when the peer's pipe closes
    if os.getppid() == 1:  # the peer died before we could ask
        os._exit(0)


class SingleWorker:
    """One spawned worker for one kind of call (pipe_worker.py), `initializer(*initargs)` run in
    it first: started and waited for, and replaced when it dies. A call it held when it died
    returns None, and the caller does that call itself (the worker's own work never committed)."""

    def __init__(self, name: str, initializer, initargs: tuple):
        self.name, self._start_args = name, (initializer, initargs)
        self._worker: PipeWorker | None = None
        self.restarts = 0
        self.pid: int | None = None

    async def start(self) -> None:
        """Spawn the worker and wait until its initializer has run."""
        self._worker = PipeWorker(*self._start_args)
        await self._worker.start()
        self.pid = self._worker.pid

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    async def call(self, function, *args):
        """function(*args) in the worker, or None when the worker died holding it."""
        try:
            return await self._worker.call(function, *args)
        except WorkerDied:
            log.warning("the %s worker died; restarting it, this call done by the caller",
                        self.name)
            self.restarts += 1
            self._worker.kill()
            await self._restart()
            return None

    async def _restart(self) -> None:
        try:
            await self.start()  # a new worker; calls made meanwhile wait for it to be ready
        except WorkerDied:  # it died starting: the next call finds it dead and tries again
            log.warning("the %s worker did not start again", self.name)
