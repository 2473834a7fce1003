"""A window the screen's or storage's request check refuses must not wedge its aggregator: the
callee refuses the whole request, and a round retried as it was would fail at every tick until
the replica took the windows over, and fail there too (services/peers/refused_windows.py). The
refused window is parked (its readings dead-lettered with why, the window closed), the others
are closed by the next round."""

import pytest

from services.peers.messages.windows import STORE
from services.peers.refused_windows import refused
from services.peers.window_store import CLOSED
from tests.peers.closing_harness import (
    CheckingDownstream,
    close_until,
    lone_aggregator,
    window_states,
)


@pytest.mark.parametrize("where", ["context", "item"])
def test_a_refused_window_is_parked__the_others_close__nothing_retried_for_ever(
        tmp_path, monkeypatch, where):
    downstream = CheckingDownstream()
    role = lone_aggregator(tmp_path, downstream)
    for device in ("good-1", "bad", "good-2"):
        role.windows.ingest([{"userId": device, "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    if where == "context":  # a context predict.windows refuses (what wedged the scale-out)
        context_of = role.recent.context_of
        monkeypatch.setattr(role.recent, "context_of", lambda device, start: (
            {"heart_rates": [None]} if device == "bad" else context_of(device, start)))
    else:  # an item store.windows refuses
        real_call = downstream.call_role

        async def call_role(r, op, request):
            if op == STORE:
                for item in request.items:
                    if item["device_id"] == "bad":
                        item["prediction"] = "not an object"
            return await real_call(r, op, request)

        role.call_role = call_role

    close_until(role, 2)
    assert sorted(downstream.stored) == [("good-1", 0), ("good-2", 0)]
    assert window_states(role) == {("good-1", 0): CLOSED, ("bad", 0): CLOSED, ("good-2", 0): CLOSED}
    assert role.refused_windows == 1 and role.metrics()["aggregation_windows_refused"] == 1
    letters = role.store.dead_letters("reading")
    assert len(letters) == 1 and letters[0].reason.startswith("refused: its window failed the")
    assert b'"userId":"bad"' in letters[0].payload and b'"heartrate":70,' in letters[0].payload


def test_refused__names_only_the_windows_the_check_refuses():
    from services.peers.messages.windows import PredictRequest

    ok = {"device_id": "d", "window_start_ms": 0, "readings": []}
    request = PredictRequest([ok, dict(ok, context={"rr_ms": ["x"]}), ok,
                              dict(ok, window_start_ms="0")])
    assert set(refused(request)) == {1, 3}
    assert refused(PredictRequest([ok, ok])) == {}


def test_parked_windows__leave_no_latency_mark_behind(tmp_path):
    """The close loop notes when each window fell due (its latency counts from there) and drops
    the note when a round closes it; a window closed another way (parked here, or closed by a
    merge) must not keep its note for the life of the process."""
    downstream = CheckingDownstream()
    role = lone_aggregator(tmp_path, downstream)
    real_call = downstream.call_role

    async def call_role(r, op, request):
        if op == STORE:
            for item in request.items:
                if item["device_id"].startswith("bad"):
                    item["prediction"] = "not an object"
        return await real_call(r, op, request)

    role.call_role = call_role
    for device in ["good"] + [f"bad-{i}" for i in range(20)]:
        role.windows.ingest([{"userId": device, "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    close_until(role, 1)
    assert role.refused_windows == 20
    assert set(window_states(role).values()) == {CLOSED}
    role.windows.ingest([{"userId": "good", "seq": 2, "ts_ms": 11_000, "heartrate": 70.0}])
    close_until(role, 2)  # a later round looks at what is due again
    assert role._first_due == {}
