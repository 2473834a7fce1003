"""AF burden: the share of monitored time the screen found irregular, per calendar day in the
patient's time zone. Monitored time is the length of the readable windows (insufficient ones are
not monitoring); a window counts on the day its start falls on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TimedWindow:
    start_ms: int
    end_ms: int
    status: str


def daily_burden(windows: Iterable[TimedWindow], time_zone: str = "UTC") -> list[dict]:
    """[{date, monitored_s, irregular_s, burden}] oldest day first; burden is None on a day with
    no readable window (never 0: nothing was measured)."""
    zone = ZoneInfo(time_zone)
    days: dict[str, list[float]] = {}
    seen: set[int] = set()
    for window in windows:
        if window.start_ms in seen or window.status not in ("regular", "irregular"):
            continue
        seen.add(window.start_ms)
        day = datetime.fromtimestamp(window.start_ms / 1000, zone).date().isoformat()
        totals = days.setdefault(day, [0.0, 0.0])
        length = max(0, window.end_ms - window.start_ms) / 1000
        totals[0] += length
        totals[1] += length if window.status == "irregular" else 0.0
    return [{"date": day, "monitored_s": round(monitored, 3), "irregular_s": round(irregular, 3),
             "burden": round(irregular / monitored, 4) if monitored else None}
            for day, (monitored, irregular) in sorted(days.items())]
