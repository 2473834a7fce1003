"""A Window from the signed readings of one device's 10-second window, as the peers hold them.

The window's signal is the least informative one its readings declare (services/ingest/reading.py
most_conservative): the screen can only be as sure as its weakest input. Readings without a
signal (stored before readings declared one) give a window without one, which the predictor
refuses with the reason instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.ingest.reading import SIGNALS, most_conservative
from services.predict.base import Window


def window_from_readings(device_id: str, start_ms: int, readings: Iterable[Mapping],
                         context: Mapping | None = None) -> Window:
    """`context`: {"heart_rates", "rr_ms"} of the device's minute before (Window's context)."""
    readings = list(readings)
    declared = [r.get("signal") for r in readings]
    signal = (
        most_conservative(declared) if declared and all(s in SIGNALS for s in declared) else None
    )
    rr = [x for r in readings for x in (r.get("rr") or ())]
    context = context or {}
    return Window(device_id, start_ms, [r["heartrate"] for r in readings], rr or None, signal,
                  context.get("heart_rates"), context.get("rr_ms"))


def window_from_item(item: Mapping) -> Window:
    """The peers' aggregation item ({"device_id", "window_start_ms", "readings"}, optionally
    "context") as a Window."""
    return window_from_readings(item["device_id"], item["window_start_ms"], item["readings"],
                                item.get("context"))
