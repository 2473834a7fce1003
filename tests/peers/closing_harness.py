"""An aggregator closing alone, against prediction and storage as a remote peer would check
its requests: for tests of what a close round sends on."""

from types import SimpleNamespace

import trio

from services.peers.messages.checks import InvalidMessage
from services.peers.messages.windows import PREDICT, STORE
from services.peers.roles.aggregation import AggregationRole
from services.peers.rpc import RemoteError
from services.peers.settings import PeersSettings
from tests.peers.helpers import open_test_store


class CheckingDownstream:
    """Prediction and storage as a remote peer answers: the request is checked by its class
    first (rpc.py), and refused whole as `invalid` if any window fails."""

    def __init__(self):
        self.stored: list[tuple[str, int]] = []
        self.items: list[dict] = []  # what storage was sent, as it received it

    async def call_role(self, role: str, op: str, request):
        try:
            request = type(request).from_wire(request.to_wire())
        except InvalidMessage:
            raise RemoteError("invalid") from None
        if op == PREDICT:
            return SimpleNamespace(predictions=[{"status": "regular"} for _ in request.windows])
        assert op == STORE
        self.stored += [(i["device_id"], i["window_start_ms"]) for i in request.items]
        self.items += request.items
        return SimpleNamespace(record_ids=[])

    async def call_role_by_key(self, role, op, items, key, request):
        return None


def lone_aggregator(tmp_path, downstream) -> AggregationRole:
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


def window_states(role) -> dict:
    return {(d, w): s for d, w, s in role.windows._db.execute(
        "SELECT device, window_start, state FROM windows")}


def close_until(role, closed: int, limit_s: float = 20) -> None:
    """Run the close loop until `closed` windows closed (failing after `limit_s`)."""
    async def main():
        await role.rebalance()  # alone and never shared: it may close at once
        with trio.fail_after(limit_s):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(role._close_loop)
                while role.closed_windows < closed:
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()

    trio.run(main)
