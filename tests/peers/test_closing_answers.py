"""A close round pairs windows with the screen's verdicts by position: an answer with fewer
verdicts than windows (a prediction peer gone bad, or a bug) left the rest out of storage, and
the round then marked every window closed and scrubbed it — readings lost without a dead letter.
Such a round fails instead; its windows stay `closing`, and a round with a whole answer closes
them."""

from types import SimpleNamespace

import trio

from services.peers.messages.windows import PREDICT
from services.peers.window_store import CLOSED, CLOSING
from tests.peers.closing_harness import (
    CheckingDownstream,
    close_until,
    lone_aggregator,
    window_states,
)


def test_a_screen_answer_short_of_windows__round_fails__nothing_closed_then_closed(tmp_path):
    downstream = CheckingDownstream()
    role = lone_aggregator(tmp_path, downstream)
    for device in ("one", "two", "three"):
        role.windows.ingest([{"userId": device, "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    honest = downstream.call_role

    async def short_answer(r, op, request):
        if op == PREDICT:
            return SimpleNamespace(predictions=[{"status": "regular"}])  # one verdict for three
        return await honest(r, op, request)

    role.call_role = short_answer

    async def rounds_for_a_while():
        await role.rebalance()
        with trio.move_on_after(0.5):
            await role._close_loop()

    trio.run(rounds_for_a_while)
    assert role.closed_windows == 0 and downstream.stored == []
    assert set(window_states(role).values()) == {CLOSING}
    assert role.store.dead_letters("reading") == []

    role.call_role = honest
    close_until(role, 3)
    assert sorted(downstream.stored) == [("one", 0), ("three", 0), ("two", 0)]
    assert set(window_states(role).values()) == {CLOSED}
