"""Budgets, against the real endpoint: one client address, one device, and the refusals of
messages no registered device signed, each bounded — and nobody spends another's."""

import pytest

from services.ingest.reading import Reading, sign_batch, sign_reading

from .messages import now_ms
from .server import IngestServer

SLOW = 0.001  # tokens a second: nothing refills while a test runs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = IngestServer(tmp_path_factory.mktemp("budgets"),
                           env={"PULSELEDGER_INGEST_BATCH_MAX_READINGS": "10"},
                           client_requests_per_s=SLOW, client_request_burst=4,
                           client_rejects_per_s=SLOW, client_reject_burst=2,
                           device_readings_per_s=SLOW, device_reading_burst=10)
    yield started
    started.stop()


def _batch(key, count, first_seq=1, heartrate=70.0):
    start = now_ms() - 60_000
    return sign_batch(key, [Reading(key.user_id, heartrate, start + i * 1000, first_seq + i, (),
                                    "hr_averaged") for i in range(count)])


def _assert_slowed(answer, error):
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == error
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["retry_after_s"] == int(answer.headers["Retry-After"])


def test_client_budget__requests_beyond_it_get_429_others_go_on(server):
    key = server.device()
    for seq in range(1, 5):
        assert server.post(_batch(key, 1, seq), client="127.0.7.1").status_code == 202
    _assert_slowed(server.post(_batch(key, 1, 9), client="127.0.7.1"), "client_budget")
    assert server.post(_batch(key, 1, 10), client="127.0.7.2").status_code == 202


def test_reject_budget__unsigned_garbage_stops_being_judged_or_kept(server):
    before = len(server.dead_letters())
    for _ in range(2):
        assert server.post(b"{broken", client="127.0.7.3").status_code == 400
    assert len(server.dead_letters()) == before + 1  # the same garbage is kept once
    key = server.device()
    _assert_slowed(server.post(_batch(key, 1), client="127.0.7.3"), "reject_budget")
    assert server.post(b'{"other": 1}', client="127.0.7.3").status_code == 429
    assert len(server.dead_letters()) == before + 1
    assert server.post(_batch(key, 1), client="127.0.7.4").status_code == 202


def test_reject_budget__a_registered_device_own_refusals_do_not_spend_it(server):
    key = server.device()
    for seq in range(1, 4):  # more than the reject burst, all signed by the device
        answer = server.post(_batch(key, 1, seq, heartrate=300.0), client="127.0.7.5")
        assert answer.status_code == 422 and answer.json()["reason"] == "range: heartrate"


def test_device_budget__spent_by_its_readings_from_any_address(server):
    device, other = server.device(), server.device()
    depth = server.queue.depth()
    assert server.post(_batch(device, 10), client="127.0.7.6").status_code == 202
    _assert_slowed(server.post(_batch(device, 1, 11), client="127.0.7.7"), "device_budget")
    _assert_slowed(server.post(_batch(device, 1, 12), client="127.0.7.8"), "device_budget")
    assert server.queue.depth() == depth + 1  # the refused messages were not queued
    assert server.post(_batch(other, 10), client="127.0.7.8").status_code == 202


def test_device_budget__forgeries_naming_a_device_do_not_spend_its_budget(server):
    victim, forger = server.device(), server.device(register=False)
    forged = _batch(victim, 10).replace(b'"sig": "', b'"sig": "A')
    for address in range(9, 13):  # several addresses: more forgeries than one client may send
        answer = server.post(forged, client=f"127.0.7.{address}")
        assert answer.status_code == 401
    stolen = sign_reading(forger, Reading(victim.user_id, 70.0, now_ms(), 1, (), "hr_averaged"))
    assert server.post(stolen, client="127.0.7.13").status_code == 401
    assert server.post(_batch(victim, 10), client="127.0.7.14").status_code == 202
