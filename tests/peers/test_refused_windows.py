"""A window the screen's or storage's request check refuses must not wedge its aggregator: the
callee refuses the whole request, and a round retried as it was would fail at every tick until
the replica took the windows over, and fail there too (services/peers/refused_windows.py). The
refused window is parked (its readings dead-lettered with why, the window closed), the others
are closed by the next round."""

from types import SimpleNamespace

import pytest
import trio

from services.peers.messages.checks import InvalidMessage
from services.peers.messages.windows import PREDICT, STORE
from services.peers.refused_windows import refused
from services.peers.roles.aggregation import AggregationRole
from services.peers.rpc import RemoteError
from services.peers.settings import PeersSettings
from services.peers.window_store import CLOSED
from tests.peers.helpers import open_test_store

WINDOW_MS = 10_000


class CheckingDownstream:
    """Prediction and storage as a remote peer answers: the request is checked by its class
    first (rpc.py), and refused whole as `invalid` if any window fails."""

    def __init__(self):
        self.stored: list[tuple[str, int]] = []

    async def call_role(self, role: str, op: str, request):
        try:
            request = type(request).from_wire(request.to_wire())
        except InvalidMessage:
            raise RemoteError("invalid") from None
        if op == PREDICT:
            return SimpleNamespace(predictions=[{"status": "regular"} for _ in request.windows])
        assert op == STORE
        self.stored += [(i["device_id"], i["window_start_ms"]) for i in request.items]
        return SimpleNamespace(record_ids=[])

    async def call_role_by_key(self, role, op, items, key, request):
        return None


def _aggregator(tmp_path, downstream) -> AggregationRole:
    """Alone (every user's primary, no replica); every open window due at once."""
    return AggregationRole(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32,
                               close_tick_s=0.01, quiet_flush_s=0.0),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None),
        membership=SimpleNamespace(live=lambda role=None: ["me"], mark_dead=lambda peer: None,
                                   any_queue_busy=lambda: False, queue_pending=lambda: False,
                                   queue_low_ms=lambda: None),
        directory=SimpleNamespace(primary_and_replica=lambda user: ("me", None)),
        store=open_test_store(tmp_path), signer=None, call_role=downstream.call_role,
        call_role_by_key=downstream.call_role_by_key)


def _states(role) -> dict:
    return {(d, w): s for d, w, s in role.windows._db.execute(
        "SELECT device, window_start, state FROM windows")}


@pytest.mark.parametrize("where", ["context", "item"])
def test_a_refused_window_is_parked__the_others_close__nothing_retried_for_ever(
        tmp_path, monkeypatch, where):
    downstream = CheckingDownstream()
    role = _aggregator(tmp_path, downstream)
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

    async def main():
        await role.rebalance()  # alone and never shared: it may close at once
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(role._close_loop)
                while role.closed_windows < 2:
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()

    trio.run(main)
    assert sorted(downstream.stored) == [("good-1", 0), ("good-2", 0)]
    assert _states(role) == {("good-1", 0): CLOSED, ("bad", 0): CLOSED, ("good-2", 0): CLOSED}
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
