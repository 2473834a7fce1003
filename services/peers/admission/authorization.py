"""Which roles may call which operation: the caller's roles are those its credential grants
(checked against its Noise-verified peer id), never what it announces.

notify.predictions is called by aggregators today (they drive a closed window through
prediction → storage → notification); the prediction role is listed for when prediction sends
on itself. Either way notification accepts only predictions for windows the store holds.
"""

from __future__ import annotations

OPERATION_ROLES: dict[str, frozenset[str]] = {
    "agg.ingest": frozenset({"master"}),
    "agg.merge": frozenset({"aggregation"}),
    "agg.sync": frozenset({"aggregation"}),
    "predict.windows": frozenset({"aggregation"}),
    "store.windows": frozenset({"aggregation"}),
    "notify.predictions": frozenset({"aggregation", "prediction"}),
}


def may_call(op: str, caller_roles: frozenset[str]) -> bool:
    """An operation missing from the table is refused to everyone: new ops must say who."""
    allowed = OPERATION_ROLES.get(op)
    return allowed is not None and bool(allowed & caller_roles)
