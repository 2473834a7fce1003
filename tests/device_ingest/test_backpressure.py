"""Backpressure, against the real endpoint and the real local queue: while the queue holds more
than MAX_QUEUE_DEPTH messages, devices get 429 with Retry-After (spread over [base, 2 × base])
and nothing is queued or kept; once the masters catch up, messages are accepted again."""

import requests

from .messages import now_ms, signed_message
from .server import IngestServer

BASE_S = 3


def test_queue_behind__429_retry_after_then_accepted_once_drained(tmp_path):
    server = IngestServer(tmp_path, max_queue_depth=3, backpressure_retry_after_s=BASE_S)
    try:
        key = server.device()
        server.queue.send([b"waiting"] * 4)  # what the masters have not pulled yet
        assert server.wait_behind(True) == {"status": "ok", "queue_depth": 4, "behind": True}
        before = len(server.dead_letters())
        waits = set()
        for attempt in range(6):
            answer = server.post(signed_message("batch", key, now_ms() - 10_000),
                                 client=f"127.0.8.{attempt}")
            assert answer.status_code == 429 and answer.json()["error"] == "backpressure"
            waits.add(int(answer.headers["Retry-After"]))
        assert waits <= set(range(BASE_S, 2 * BASE_S + 1))
        assert server.queue.depth() == 4 and len(server.dead_letters()) == before

        server.queue.complete(server.queue.receive(10))  # the masters catch up
        assert server.wait_behind(False)["queue_depth"] == 0
        answer = server.post(signed_message("batch", key, now_ms() - 10_000), client="127.0.8.9")
        assert answer.status_code == 202, answer.text
        assert server.queue.depth() == 1
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert 'device_ingest_slowed_down_total{why="backpressure"} 6.0' in metrics
        assert "device_ingest_readings_accepted_total 5.0" in metrics
    finally:
        assert server.stop() == 0
