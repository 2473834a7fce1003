"""Every format a device may post is accepted by the real endpoint and lands in the queue as the
device signed it, for the masters to validate again."""

import json

import pytest

from services.ingest.settings import IngestSettings
from services.ingest.validation import validate_message

from .messages import FORMATS, expected_count, now_ms, signed_message


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format__accepted_and_queued_as_sent(server, fmt):
    key = server.device()
    message = signed_message(fmt, key, now_ms() - 10_000)
    answer = server.post(message, client=f"127.0.2.{FORMATS.index(fmt)}")
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": expected_count(fmt), "rejected": []}
    received = server.queue.receive(100)
    server.queue.complete(received)
    assert message in [m.body for m in received]
    verdict = validate_message(message, server.store, IngestSettings(), now_ms())
    assert len(verdict.valid) == expected_count(fmt) and verdict.device == key.user_id


def test_some_readings_refused__the_rest_accepted__each_refusal_named(server):
    from services.ingest.reading import Reading, sign_batch

    key = server.device()
    start = now_ms() - 20_000
    readings = [Reading(key.user_id, 70.0, start, 1, (850,), "rr"),
                Reading(key.user_id, 999.0, start + 1000, 2, (850,), "rr"),
                Reading(key.user_id, 71.0, start + 2000, 3, (), "hr_averaged"),
                Reading(key.user_id, 72.0, start + 3000, 3, (), "hr_averaged")]
    answer = server.post(sign_batch(key, readings), client="127.0.2.10")
    assert answer.status_code == 202
    assert answer.json() == {"accepted": 2, "rejected": [
        {"seq": 2, "ts_ms": start + 1000, "reason": "range: heartrate"},
        {"seq": 3, "ts_ms": start + 3000, "reason": "replay: seq repeated in one message"}]}
    letters = [(json.loads(p), r) for p, r in server.dead_letters()
               if json.loads(p).get("userId") == key.user_id]
    assert sorted((body["seq"], reason) for body, reason in letters) == [
        (2, "range: heartrate"), (3, "replay: seq repeated in one message")]


def test_the_same_message_twice__queued_twice_dead_lettered_once(server):
    """A device that did not hear the answer sends again: harmless (the aggregators keep a
    reading once by device and seq; the store keeps a dead letter once)."""
    from services.ingest.reading import Reading, sign_batch

    key = server.device()
    start = now_ms() - 5000
    message = sign_batch(key, [Reading(key.user_id, 70.0, start, 1, (), "hr_averaged"),
                               Reading(key.user_id, 10.0, start + 1000, 2, (), "hr_averaged")])
    before = len(server.dead_letters())
    for _ in range(2):
        assert server.post(message, client="127.0.2.11").status_code == 202
    assert len(server.dead_letters()) == before + 1
