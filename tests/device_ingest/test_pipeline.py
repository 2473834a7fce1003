"""Readings posted to the real endpoint in every format are consumed by the peer pipeline (a real
libp2p node with every role, on 127.0.0.1) and stored exactly as the device sent them, once."""

import trio

from services.ingest.settings import IngestSettings
from services.ingest.validation import validate_message
from services.peers.node import PeerNode
from tests.peers.helpers import (
    ingest_settings,
    peer_settings,
    stored_keys,
    stored_windows,
    wait_for,
)

from .messages import FORMATS, now_ms, signed_message
from .server import OWNER, IngestServer

ROLES = ["master", "aggregation", "prediction", "storage", "notification"]


def test_every_format__posted__stored_unchanged_exactly_once(tmp_path):
    server = IngestServer(tmp_path)
    try:
        expected: dict[tuple[str, int], tuple] = {}
        start = now_ms() - 60_000
        for index, fmt in enumerate(FORMATS):
            key = server.device()
            message = signed_message(fmt, key, start + index * 137, count=12)
            assert server.post(message, client=f"127.0.9.{index}").status_code == 202
            if fmt == "batch":  # sent twice (no answer heard): stored once all the same
                assert server.post(message, client=f"127.0.9.{index}").status_code == 202
            for reading in validate_message(message, server.store, IngestSettings(),
                                            now_ms()).valid:
                expected[(reading.user_id, reading.seq)] = (
                    reading.ts_ms, float(reading.heartrate), list(reading.rr))
        assert len(expected) == 1 + 12 + 12 + 1 + 12

        async def run_pipeline() -> bool:
            async with trio.open_nursery() as nursery:
                node = PeerNode(peer_settings(tmp_path, "all", ROLES), ingest_settings(tmp_path))
                await nursery.start(node.run)
                done = await wait_for(lambda: server.queue.depth() == 0 and set(
                    stored_keys(server.store, [OWNER])) == set(expected), 120, poll_s=0.2)
                await trio.sleep(1.0)  # anything still in flight would show as a duplicate
                nursery.cancel_scope.cancel()
            return done

        assert trio.run(run_pipeline)
        counted = stored_keys(server.store, [OWNER])
        assert set(counted) == set(expected) and max(counted.values()) == 1
        stored = {(w["device_id"], r["seq"]): (r["ts_ms"], float(r["heartrate"]), r["rr"])
                  for w in stored_windows(server.store, [OWNER]) for r in w["readings"]}
        assert stored == expected
        assert [d.reason for d in server.store.dead_letters("reading")] == []
    finally:
        server.stop()
