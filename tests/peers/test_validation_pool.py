"""A master's validation workers (services/peers/validation_pool.py), real spawned processes:
their verdicts are exactly what the master's own thread says — including where a worker has
to assume a device's key and the store says otherwise — a dead worker costs no message, and a
peer with a worker stores every valid reading once."""

import json
import os
import signal
import time

import base58
import pytest
import trio

from services.ingest.device_identity import DeviceKey
from services.ingest.queues.local import LocalQueue
from services.ingest.reading import Reading, b64, canonical, sign_batch, sign_reading
from services.ingest.settings import IngestSettings
from services.peers.node import PeerNode
from services.peers.validation_pool import ValidationPool, judged_here, key_in_device_id

from .helpers import (
    Workload,
    dead_letter_reasons,
    ingest_settings,
    open_test_store,
    peer_settings,
    stored_keys,
    wait_for,
)

OWNER = "0x" + "11" * 20


def _corpus(store) -> list[bytes]:
    """One message of every kind the judgement tells apart, and the device registrations a
    worker cannot see."""
    now = int(time.time() * 1000)
    device, stranger, other = DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()
    store.register_device(device.user_id, OWNER, device.public_bytes)
    # registered under its id but with another key: the worker assumes the id's key
    swapped = DeviceKey.generate()
    store.register_device(swapped.user_id, OWNER, other.public_bytes)
    # registered under an id that carries no key (a hash peer id): the worker knows no key
    hashed = base58.b58encode(bytes([0x12, 0x20]) + os.urandom(32)).decode()
    store.register_device(hashed, OWNER, device.public_bytes)

    def reading(key_id, seq, **overrides):
        fields = {"user_id": key_id, "heartrate": 72.0, "ts_ms": now - 1000, "seq": seq,
                  "rr": (830, 840), **overrides}
        return Reading(**fields)

    body = reading(device.user_id, 1).to_json()
    hashed_body = reading(hashed, 1).to_json()
    return [
        sign_reading(device, reading(device.user_id, 1)),
        sign_batch(device, [reading(device.user_id, s) for s in range(2, 12)]),
        sign_batch(device, [reading(device.user_id, 20), reading(device.user_id, 21,
                                                                 heartrate=400.0)]),
        sign_batch(device, [reading(device.user_id, 30), reading(device.user_id, 30)]),
        sign_reading(device, reading(device.user_id, 40)).replace(b"72.0", b"73.0"),
        json.dumps({"reading": body, "sig": b64(other.sign(canonical(body)))}).encode(),
        json.dumps({"reading": body}).encode(),
        b"{not json",
        sign_reading(stranger, reading(stranger.user_id, 1)),
        sign_reading(swapped, reading(swapped.user_id, 1)),
        json.dumps({"reading": hashed_body,
                    "sig": b64(device.sign(canonical(hashed_body)))}).encode(),
    ]


def _plain(judged) -> list:
    return [(j.device, j.valid, [(r.payload, r.reason) for r in j.rejects]) for j in judged]


def test_key_in_device_id__identity_ids_only():
    key = DeviceKey.generate()
    assert key_in_device_id(key.user_id) == key.public_bytes
    assert key_in_device_id("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N") is None
    assert key_in_device_id("not base58 0OIl") is None


def test_workers__judge_every_kind_of_message_as_the_master_would(tmp_path):
    store = open_test_store(tmp_path)
    settings = IngestSettings()
    raws = _corpus(store)
    now = int(time.time() * 1000)
    here = [judged_here(raw, store, settings, now) for raw in raws]
    pool = ValidationPool(2, settings)

    async def judge():
        return await pool.judge(raws, store, now)

    try:
        by_workers = trio.run(judge)
    finally:
        pool.close()
    assert _plain(by_workers) == _plain(here)
    reasons = [r.reason for j in here for r in j.rejects]
    # the corpus covers what it claims: every outcome, and both registrations a worker misjudges
    assert {"range: heartrate", "replay: seq repeated in one message", "signature", "unsigned",
            "malformed: not JSON", "unknown device"} <= set(reasons)
    assert reasons.count("signature") == 4  # tampered, wrong key, swapped key, hashed id
    assert pool.rejudged == 2
    assert sum(len(j.valid) for j in here) == 1 + 10 + 1 + 1


def test_worker_killed__batch_judged_in_the_peer_and_the_pool_starts_again(tmp_path):
    store = open_test_store(tmp_path)
    settings = IngestSettings()
    raws = _corpus(store)
    now = int(time.time() * 1000)
    expected = _plain([judged_here(raw, store, settings, now) for raw in raws])
    pool = ValidationPool(1, settings)

    async def main():
        await pool.start()
        for pid in list(pool._executor._processes):
            os.kill(pid, signal.SIGKILL)
        first = await pool.judge(raws, store, now)
        second = await pool.judge(raws, store, now)
        return first, second

    try:
        first, second = trio.run(main)
    finally:
        pool.close()
    assert _plain(first) == expected
    assert _plain(second) == expected
    assert pool.restarts == 1


@pytest.mark.parametrize("workers", [1])
def test_peer_with_validation_workers__every_valid_reading_stored_once(tmp_path, workers):
    workload = Workload(tmp_path, devices=4, seconds=25)
    queue = LocalQueue(tmp_path / "queue.db")
    queue.send(workload.all_messages())
    owners = [d.owner for d in workload.fleet]
    roles = ["master", "aggregation", "prediction", "storage", "notification"]

    async def main():
        node = PeerNode(peer_settings(tmp_path, "all", roles, validation_workers=workers),
                        ingest_settings(tmp_path))
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            done = await wait_for(
                lambda: queue.depth() == 0
                and set(stored_keys(workload.store, owners)) == workload.valid_keys
                and len(dead_letter_reasons(workload.store)) >= 7, 60, poll_s=0.2)
            metrics = node.metrics()
            nursery.cancel_scope.cancel()
        return done, metrics

    done, metrics = trio.run(main)
    assert done
    counted = stored_keys(workload.store, owners)
    assert set(counted) == workload.valid_keys and max(counted.values()) == 1
    assert sorted(dead_letter_reasons(workload.store)) == sorted([
        "malformed: not JSON", "unsigned", "signature", "unknown device", "range: heartrate",
        "timestamp: too old", "replay: seq seen with other content"])
    assert metrics["master_validation_pool_restarts"] == 0
