"""Worker processes a peer spawns for CPU or SQLite work off its event loop (validation,
master_validation.py; an aggregator's ingest, ingest_process.py): how they are started, how
they die with the peer, and how the loop waits for their results."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor

import trio


def spawn_pool(max_workers: int, initializer, initargs: tuple) -> ProcessPoolExecutor:
    # spawn, not fork: the peer has threads (trio's, SQLite's) a fork would copy mid-step
    return ProcessPoolExecutor(max_workers=max_workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)


def die_with_parent() -> None:
    """A peer killed -9 must not leave its workers behind (Linux: the parent-death signal);
    called first in each worker's initializer."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the workers still exit when the pool's pipe closes
    if os.getppid() == 1:  # the peer died before we could ask
        os._exit(0)


async def result_of(future: Future):
    """Wait for a concurrent future without holding a thread for it: the pool's own thread
    wakes this task when the result is in."""
    token, done = trio.lowlevel.current_trio_token(), trio.Event()

    def wake(_future) -> None:
        try:
            token.run_sync_soon(done.set)
        except trio.RunFinishedError:
            pass  # the peer is shutting down: nobody waits any more

    future.add_done_callback(wake)
    await done.wait()
    return future.result()
