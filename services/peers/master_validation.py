"""A master's validation of what it pulled: in its own event loop, or on worker processes.

Validation (services/ingest/validation.py: JSON, schema, canonical form, the device's Ed25519
signature) and the keyed digest each reading carries into its attestation cost ~33 µs a reading,
a quarter of what an all-in-one peer spends on one, all of it under the GIL while the other core
idles. With `validation_workers` > 0 the master hands each pull to that many worker processes
and its event loop goes on ingesting, closing and storing meanwhile; with 0 it validates in its
own loop. Both run `check_message`, so the verdicts are the same.

A worker is a spawned child of the peer (no network, no keys but the digest key): it opens its
own record-store handle for device lookups, cached for the same time as the master's, and dies
with the peer. A worker that dies is replaced and the share it held is validated in-process:
nothing is lost or judged twice.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import trio

from services.ingest.device_directory import CachedDevices
from services.ingest.validation import validate_message
from services.peers.window_store import digests_of
from services.peers.worker_processes import SingleWorker, die_with_parent

log = logging.getLogger(__name__)
# In-process: queue messages validated before the event loop runs again. A pull of hundreds of
# messages is seconds of CPU on a busy host; in one piece it starved this peer's network
# (presence dropped, stream negotiations timed out and live peers were marked dead).
VALIDATE_BETWEEN_CHECKPOINTS = 20
# On workers: a pull is cut into one share a worker, each a single call. The messages cost
# alike (a signature each reading), so equal shares finish together, and each call's hand-over
# (a wake-up of the loop, which waits for the GIL on a busy peer) is paid once a worker.


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
        self._workers: list[SingleWorker] = []
        self._replaced_before = 0  # by workers since closed

    def metrics(self) -> dict:
        return {"master_validation_workers": self.workers,
                "master_validation_pool_restarts": self.pool_restarts}

    @property
    def pool_restarts(self) -> int:
        """Workers replaced (the metric's name from when they were a pool)."""
        return self._replaced_before + sum(worker.restarts for worker in self._workers)

    async def start(self) -> None:
        """Spawn the workers and wait until each has imported and opened its store, so the
        first pull does not wait for them."""
        if not self.workers:
            return
        self._workers = [self._new_worker() for _ in range(self.workers)]
        async with trio.open_nursery() as nursery:
            for worker in self._workers:
                nursery.start_soon(worker.start)
        log.info("validating on %d worker process(es)", len(self._workers))

    @property
    def worker_pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    def close(self) -> None:
        self._replaced_before = self.pool_restarts
        for worker in self._workers:
            worker.close()
        self._workers = []

    def _new_worker(self) -> SingleWorker:
        return SingleWorker("validation", _start_worker,
                            (self._records, self.ingest_settings, self.digest_key))

    async def check(self, bodies: list[bytes], now_ms: int) -> list[Checked]:
        """Each message judged, in order."""
        if not self._workers:
            return await self._check_here(bodies, now_ms)
        share = -(-len(bodies) // len(self._workers))
        shares = [bodies[i:i + share] for i in range(0, len(bodies), share)]
        judged: list[list[Checked] | None] = [None] * len(shares)

        async def one(index: int) -> None:
            # None: the worker died holding the share (replaced for the next pull); judged
            # here, so nothing it held is lost
            judged[index] = await self._workers[index].call(_check_task, shares[index], now_ms)
            if judged[index] is None:
                judged[index] = await self._check_here(shares[index], now_ms)

        async with trio.open_nursery() as nursery:
            for index in range(len(shares)):
                nursery.start_soon(one, index)
        return [checked for share_judged in judged for checked in share_judged]

    async def _check_here(self, bodies: list[bytes], now_ms: int) -> list[Checked]:
        out = []
        for index, body in enumerate(bodies):
            if index and index % VALIDATE_BETWEEN_CHECKPOINTS == 0:
                await trio.lowlevel.checkpoint()
            out.append(check_message(body, self.devices, self.ingest_settings, self.digest_key,
                                     now_ms))
        return out
