"""Which roles may call which operation: the caller's roles are those its credential grants
(checked against its Noise-verified peer id), never what it announces.

notify.predictions is called by aggregators (they drive a closed window through prediction →
storage → notification). Until 2026-12-06 the prediction role was listed too, for a design where
prediction sends on itself: a prediction peer could then send "regular" for a device's coming
windows (notification checks only irregular verdicts against the store, one read a window) and
so keep its alerts from ever going out. Nothing calls it that way, so nothing may.
"""

from __future__ import annotations

OPERATION_ROLES: dict[str, frozenset[str]] = {
    "agg.ingest": frozenset({"master"}),
    "agg.merge": frozenset({"aggregation"}),
    "agg.sync": frozenset({"aggregation"}),
    "predict.windows": frozenset({"aggregation"}),
    "store.windows": frozenset({"aggregation"}),
    "notify.predictions": frozenset({"aggregation"}),
}


MIB = 1024 * 1024
# The largest request frame a caller of each role may send, read before its op is known (the op
# is inside it): a master's agg.ingest (master_batch messages of up to 600 readings each), an
# aggregator's hand-over state (every reading of the devices it hands over). A role that may
# call no operation (prediction, storage, notification) sends none: its streams are closed
# unread (an admitted notification peer could make us read and parse 256 MiB frames, ~27x that
# in memory, several at once).
REQUEST_FRAME_LIMITS: dict[str, int] = {"master": 64 * MIB, "aggregation": 256 * MIB}


def request_frame_limit(caller_roles: frozenset[str]) -> int:
    """The largest request frame this caller may send; 0: it may call nothing."""
    return max((REQUEST_FRAME_LIMITS.get(role, 0) for role in caller_roles), default=0)


def may_call(op: str, caller_roles: frozenset[str]) -> bool:
    """An operation missing from the table is refused to everyone: new ops must say who."""
    allowed = OPERATION_ROLES.get(op)
    return allowed is not None and bool(allowed & caller_roles)
