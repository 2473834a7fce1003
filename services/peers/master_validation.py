"""A master's validation of what it pulled: in its own event loop, or on worker processes.

Validation (services/ingest/validation.py: JSON, schema, canonical form, the device's Ed25519
signature) and the keyed digest each reading carries into its attestation cost ~33 µs a reading,
a quarter of what an all-in-one peer spends on one, all of it under the GIL while the other core
idles. With `validation_workers` > 0 the master hands each pull to that many worker processes
and its event loop goes on ingesting, closing and storing meanwhile; with 0 it validates in its
own loop. Both run `check_message`, so the verdicts are the same.

A worker is a spawned child of the peer (no network, no keys but the digest key): it opens its
own record-store handle for device lookups, cached for the same time as the master's, and dies
with the peer. A worker that dies is replaced and the batch it held is validated in-process:
nothing is lost or judged twice.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

import trio

from services.ingest.device_directory import CachedDevices
from services.ingest.validation import validate_message
from services.peers.window_store import digests_of
from services.peers.worker_pool import die_with_parent, result_of, spawn_pool

log = logging.getLogger(__name__)
# In-process: queue messages validated before the event loop runs again. A pull of hundreds of
# messages is seconds of CPU on a busy host; in one piece it starved this peer's network
# (presence dropped, stream negotiations timed out and live peers were marked dead).
VALIDATE_BETWEEN_CHECKPOINTS = 20
# On workers: queue messages per task. Small enough that several workers share a pull, large
# enough that the pipe's per-task cost (~0.1 ms) stays under 1% of the work.
MESSAGES_PER_TASK = 50


class Checked(NamedTuple):
    """One queue message judged: its valid readings (wire form), their keyed digests in the same
    order, and its rejects as (payload, reason) for the dead-letter store."""

    readings: list[dict]
    digests: list[str]
    rejects: list[tuple[bytes, str]]


def check_message(body: bytes, devices, ingest_settings, digest_key: bytes,
                  now_ms: int) -> Checked:
    verdict = validate_message(body, devices, ingest_settings, now_ms)
    readings = [reading.to_json() for reading in verdict.valid]
    return Checked(readings, digests_of(readings, digest_key),
                   [(reject.payload, reject.reason) for reject in verdict.rejects])


# --- in a worker process ---------------------------------------------------------------------

_worker: tuple[CachedDevices, object, bytes] | None = None


def _start_worker(records_settings, ingest_settings, digest_key: bytes) -> None:
    global _worker
    die_with_parent()
    from services.records import open_store

    _worker = (CachedDevices(open_store(records_settings)), ingest_settings, digest_key)


def _ready() -> int:
    return os.getpid()


def _check_task(bodies: list[bytes], now_ms: int) -> list[Checked]:
    devices, ingest_settings, digest_key = _worker
    return [check_message(body, devices, ingest_settings, digest_key, now_ms) for body in bodies]


# --- in the peer -------------------------------------------------------------------------------

class MasterValidation:
    def __init__(self, *, workers: int, devices: CachedDevices, ingest_settings, digest_key: bytes,
                 records_settings=None):
        """`records_settings`: the record store the workers open (the one `devices` reads);
        None (a store handed to the node in-process, e.g. in tests) validates in-process."""
        self.ingest_settings, self.digest_key, self.devices = ingest_settings, digest_key, devices
        self.workers = workers if records_settings is not None else 0
        self._records = records_settings
        self._pool: ProcessPoolExecutor | None = None
        self.pool_restarts = 0

    def metrics(self) -> dict:
        return {"master_validation_workers": self.workers,
                "master_validation_pool_restarts": self.pool_restarts}

    async def start(self) -> None:
        """Spawn the workers and wait until each has imported and opened its store, so the
        first pull does not wait for them."""
        if not self.workers:
            return
        self._pool = self._new_pool()
        pids = [await result_of(self._pool.submit(_ready)) for _ in range(self.workers)]
        log.info("validating on %d worker process(es)", len(set(pids)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return spawn_pool(self.workers, _start_worker,
                          (self._records, self.ingest_settings, self.digest_key))

    async def check(self, bodies: list[bytes], now_ms: int) -> list[Checked]:
        """Each message judged, in order."""
        if self._pool is None:
            return await self._check_here(bodies, now_ms)
        try:
            tasks = [self._pool.submit(_check_task, bodies[i:i + MESSAGES_PER_TASK], now_ms)
                     for i in range(0, len(bodies), MESSAGES_PER_TASK)]
            return [checked for task in tasks for checked in await result_of(task)]
        except BrokenProcessPool:
            # A worker died (killed, out of memory): a new pool for the next pull, and this
            # one judged here, so nothing it held is lost.
            log.warning("a validation worker died; restarting the pool, this batch in-process")
            self.pool_restarts += 1
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return await self._check_here(bodies, now_ms)

    async def _check_here(self, bodies: list[bytes], now_ms: int) -> list[Checked]:
        out = []
        for index, body in enumerate(bodies):
            if index and index % VALIDATE_BETWEEN_CHECKPOINTS == 0:
                await trio.lowlevel.checkpoint()
            out.append(check_message(body, self.devices, self.ingest_settings, self.digest_key,
                                     now_ms))
        return out
