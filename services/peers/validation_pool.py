"""Validation on other cores: a master's worker processes judge queue messages while the peer's
own thread goes on routing, closing and storing.

Judging a message (parse, canonical form, Ed25519 verify, schema and ranges) is most of what a
master does per reading, and a peer is one Python thread: in an all-in-one peer it was about a
third of that thread's time, with the machine's other cores idle. The workers run the very same
`validate_message`; what they cannot do is look a device up in the record store, so they assume
every device is registered with the key its id names (a device id *is* its key: an Ed25519
identity peer id) and report which device they assumed. The master then checks that one device
against the store, as the in-thread path does — so a verdict is exactly what `validate_message`
in the master's own thread would have said:
- device not registered: "unknown device" (that check comes before every later one);
- registered, but under another key, or the worker found no key in the id: judged again here.

A worker that dies (killed, out of memory) costs nothing: the batch is judged in the master's
thread and the pool is started afresh for the next one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache

import base58
import trio

from services.ingest.device_identity import peer_id_for
from services.ingest.settings import IngestSettings
from services.ingest.validation import Reject, Verdict, public_key_bytes, validate_message

log = logging.getLogger(__name__)
UNKNOWN = "unknown device"
# messages per task: enough to keep a worker's per-task overhead small, few enough that several
# workers share a batch
CHUNK = 64
PARENT_CHECK_S = 0.5
_ED25519_IDENTITY = bytes([0x00, 36, 0x08, 0x01, 0x12, 0x20])  # identity multihash, proto key


@lru_cache(maxsize=65_536)
def key_in_device_id(device_id: str) -> bytes | None:
    """The 32-byte Ed25519 public key an identity peer id carries, or None."""
    try:
        raw = base58.b58decode(device_id)
    except ValueError:
        return None
    if len(raw) != 38 or not raw.startswith(_ED25519_IDENTITY):
        return None
    return raw[len(_ED25519_IDENTITY):]


@dataclass(frozen=True)
class _AssumedDevice:
    public_key: bytes


class _AssumingDirectory:
    """What a worker gives validate_message: every id that carries a key is a device with that
    key. Remembers the id it was asked about (at most one per message: one device per batch)."""

    def __init__(self):
        self.asked: str | None = None

    def get_device(self, device_id: str):
        self.asked = device_id
        key = key_in_device_id(device_id)
        return None if key is None else _AssumedDevice(key)


_settings: IngestSettings | None = None


def _start_worker(settings: IngestSettings) -> None:
    global _settings
    _settings = settings
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A peer killed -9 leaves its workers waiting on a pipe nobody writes: leave with it."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _judge(raws: list[bytes], now_ms: int) -> list[tuple]:
    """In a worker: (device, valid readings as JSON, rejects, device assumed) per message."""
    out = []
    for raw in raws:
        directory = _AssumingDirectory()
        verdict = validate_message(raw, directory, _settings, now_ms)
        out.append((verdict.device, [r.to_json() for r in verdict.valid],
                    [(r.payload, r.reason) for r in verdict.rejects], directory.asked))
    return out


@dataclass
class Judged:
    """A verdict with the valid readings already as the JSON the master routes."""
    device: str
    valid: list[dict]
    rejects: list[Reject]


def judged_here(raw: bytes, devices, settings: IngestSettings, now_ms: int) -> Judged:
    verdict = validate_message(raw, devices, settings, now_ms)
    return _judged(verdict)


def _judged(verdict: Verdict) -> Judged:
    return Judged(verdict.device, [r.to_json() for r in verdict.valid], verdict.rejects)


class ValidationPool:
    """`workers` processes judging messages for one master (spawned: a trio process with threads
    must not fork)."""

    def __init__(self, workers: int, settings: IngestSettings):
        self.workers, self.settings = workers, settings
        self._executor: ProcessPoolExecutor | None = None
        self.restarts = 0  # pools started again after a worker died
        self.rejudged = 0  # messages a worker could not judge alone (see the module docstring)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self.settings,))
        return self._executor

    async def start(self) -> None:
        """Start the workers now (each imports the validation code: seconds on a slow host),
        not on the first batch."""
        pool = self._pool()
        futures = [pool.submit(_judge, [], 0) for _ in range(self.workers)]
        for future in futures:
            await trio.to_thread.run_sync(future.result)

    async def judge(self, raws: list[bytes], devices, now_ms: int) -> list[Judged]:
        """A verdict per message, in order; `devices` is the master's device directory."""
        chunks = [raws[i:i + CHUNK] for i in range(0, len(raws), CHUNK)]
        try:
            pool = self._pool()
            futures = [pool.submit(_judge, chunk, now_ms) for chunk in chunks]
            results = [await trio.to_thread.run_sync(f.result) for f in futures]
        except BrokenProcessPool:
            log.warning("a validation worker died: this batch is judged in the peer's thread, "
                        "the workers start again")
            self.restarts += 1
            self.close()
            return [judged_here(raw, devices, self.settings, now_ms) for raw in raws]
        out = []
        for raw, (device, valid, rejects, asked) in zip(raws, (r for rs in results for r in rs)):
            out.append(self._confirmed(raw, device, valid, rejects, asked, devices, now_ms))
        return out

    def _confirmed(self, raw, device, valid, rejects, asked, devices, now_ms) -> Judged:
        if asked is None:  # refused before any device was looked up: nothing assumed
            return Judged(device, valid, [Reject(p, r) for p, r in rejects])
        registered = devices.get_device(asked)  # a store outage raises: the batch is retried
        if registered is None:
            return Judged("", [], [Reject(raw, UNKNOWN)])
        if key_in_device_id(asked) is None or peer_id_for(public_key_bytes(registered)) != asked:
            self.rejudged += 1  # the worker assumed another key than the store holds
            return judged_here(raw, devices, self.settings, now_ms)
        return Judged(device, valid, [Reject(p, r) for p, r in rejects])

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
