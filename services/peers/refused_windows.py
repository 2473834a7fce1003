"""Which windows of a close round's request their op's own check refuses (predict.windows,
store.windows: services/peers/messages/windows.py), one window at a time.

A callee refuses a whole request for one window it cannot take, and a round retried as it was
fails again at every tick; the replica that takes the windows over after `takeover_after_s`
would fail the same way. So when a round's call fails, the aggregator asks this which windows
the check refuses and parks them (aggregation_closing.py): the round is retried without them.
The checks are the callee's own code, so the answer is the callee's (a call to our own peer id
skips them: there the screen or storage would fail on its own terms, and the same question
finds the window). Run only after a failure: ~µs a reading."""

from __future__ import annotations

from services.peers.messages.checks import InvalidMessage


def refused(request) -> dict[int, str]:
    """Index of each window (or item) the request's class refuses on its own -> why."""
    wire = request.to_wire()
    listed = "windows" if "windows" in wire else "items"
    out = {}
    for index, one in enumerate(wire[listed]):
        try:
            type(request).from_wire({**wire, listed: [one]})
        except InvalidMessage as exc:
            out[index] = str(exc)[:200]
    return out
