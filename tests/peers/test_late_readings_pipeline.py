"""A wearable out of range for part of a window sends the rest of it after the window closed:
through a running peer (libp2p host on 127.0.0.1, every role, the local queue), those readings
are judged late, then stored as a part of their window, and no dead letter is left. The same
in-process wiring `make up` runs: the aggregator's unsent loop, the master, storage."""

import json

import trio

from services.ingest.queues.local import LocalQueue
from services.peers.node import PeerNode

from .helpers import Workload, ingest_settings, peer_settings, stored_keys, wait_for

ROLES = ["master", "aggregation", "prediction", "storage", "notification"]
WINDOW_MS = 10_000


def readings_of(message: bytes) -> list[dict]:
    body = json.loads(message)
    return body.get("batch") or [body["reading"]]


def held_back(messages: list[bytes]) -> tuple[bytes, set]:
    """A message of the first device whose window also holds readings of an earlier message
    (the window is stored without it first), and the keys of those earlier readings."""
    device = readings_of(messages[0])[0]["userId"]
    seen: dict[int, set] = {}
    for message in messages:
        readings = readings_of(message)
        if readings[0]["userId"] != device:
            continue
        windows = {r["ts_ms"] // WINDOW_MS for r in readings}
        if len(windows) == 1 and (window := windows.pop()) in seen:
            return message, seen[window]
        for r in readings:
            seen.setdefault(r["ts_ms"] // WINDOW_MS, set()).add((device, r["seq"]))
    raise AssertionError("no device sent two messages into one window")


def test_readings_after_their_window_closed__stored_as_its_part__no_letter_left(tmp_path):
    workload = Workload(tmp_path, devices=2, seconds=30, batch_size=3)
    queue = LocalQueue(tmp_path / "queue.db")
    late, earlier = held_back(workload.valid_messages)
    late_keys = {(r["userId"], r["seq"]) for r in readings_of(late)}
    owners = [device.owner for device in workload.fleet]
    store = workload.store

    async def main():
        async with trio.open_nursery() as nursery:
            node = PeerNode(peer_settings(tmp_path, "a", ROLES, late_hold_s=0.5),
                            ingest_settings(tmp_path))
            await nursery.start(node.run)
            queue.send([m for m in workload.valid_messages if m != late])
            # the window is stored without the late readings (closed)
            assert await wait_for(lambda: earlier <= set(stored_keys(store, owners)), 60, 0.2)
            queue.send([late])
            stored = await wait_for(lambda: set(stored_keys(store, owners))
                                    == workload.valid_keys, 60, 0.2)
            settled = await wait_for(lambda: store.dead_letters("reading") == [], 10, 0.2)
            metrics = node.roles["aggregation"].metrics()
            nursery.cancel_scope.cancel()
        return stored, settled, metrics

    stored, settled, metrics = trio.run(main)
    assert stored, "every reading stored, the late ones too"
    assert max(stored_keys(store, owners).values()) == 1, "each once"
    assert settled, [d.reason for d in store.dead_letters("reading")]
    assert metrics["aggregation_late_readings_kept"] == len(late_keys)
    assert metrics["aggregation_late_readings_stored"] == len(late_keys)
