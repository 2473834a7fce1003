"""The last few closed windows' values per device, kept by the aggregator that closed them, so the
screen judges each window together with the same person's minute before (issue 16: ten seconds
hold 7-12 beats, where a young person's sinus arrhythmia can look as irregular as AF; a minute
tells them apart, docs/decisions/2026-12-04-screen-context.md).

In memory only: heart values never reach disk here (docs/privacy.md). Bounded: at most
`max_devices` devices (the least recently closed forgotten first), `keep` windows each, and a
device none of whose windows closed here for `idle_s` is forgotten (one that moved to another
aggregator, or stopped sending). A restarted aggregator, or one that takes a device over from
another, starts without it: the device's next windows are judged as a person's first windows
are, then with context again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from services.peers.messages.windows import MAX_CONTEXT_VALUES
from services.predict.base import CONTEXT_SECONDS


class RecentWindows:
    def __init__(self, window_ms: int, keep_seconds: int = CONTEXT_SECONDS,
                 max_devices: int = 200_000, idle_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.window_ms = window_ms
        self.span_ms = keep_seconds * 1000
        self.keep = max(1, self.span_ms // window_ms)
        self.max_devices = max_devices
        self.idle_s = idle_s
        self._clock = clock
        # device -> {window start: (heart rates, RR intervals or None)}, least recently closed
        # first; and when each device's last window closed here
        self._devices: OrderedDict[str, dict[int, tuple[list, list | None]]] = OrderedDict()
        self._closed_at: dict[str, float] = {}

    def context_of(self, device: str, start_ms: int) -> dict | None:
        """The device's windows within the span before start_ms, oldest first: {"rr_ms": [...]}
        when they carry RR intervals (the screen judges those), else {"heart_rates": [...]};
        None when there are none. One kind only: the screen reads every value it is sent."""
        windows = self._devices.get(device)
        if not windows:
            return None
        earliest = start_ms - self.span_ms
        before = [windows[s] for s in sorted(windows) if earliest <= s < start_ms]
        if not before:
            return None
        # The newest values the wire takes (predict.windows refuses more, and the screen keeps
        # fewer, the newest): one device sending faster than the context assumes must not
        # make a whole round's request refused, and the round retried, for ever.
        rr = [x for _, intervals in before for x in intervals or ()]
        if rr:
            return {"rr_ms": rr[-MAX_CONTEXT_VALUES:]}
        rates = [x for rates, _ in before for x in rates]
        return {"heart_rates": rates[-MAX_CONTEXT_VALUES:]} if rates else None

    def remember(self, device: str, start_ms: int, readings: Iterable[Mapping]) -> None:
        """A closed window's values, from its readings as the prediction item carries them. A
        scrubbed reading (its content already gone here, heart rate None: one a merge brought
        for a window closed elsewhere) has no values to give; a None among the context's
        numbers would have the whole round's request refused."""
        readings = [r for r in readings if r["heartrate"] is not None]
        rates = [r["heartrate"] for r in readings]
        rr = [x for r in readings for x in (r.get("rr") or ())] or None
        windows = self._devices.pop(device, None) or {}
        windows[start_ms] = (rates, rr)
        for stale in sorted(windows)[:-self.keep]:
            del windows[stale]
        now = self._clock()
        self._devices[device] = windows  # most recently closed last
        self._closed_at[device] = now
        self._forget(lambda oldest: len(self._devices) > self.max_devices
                     or self._closed_at[oldest] < now - self.idle_s)

    def _forget(self, should) -> None:
        """Drop the least recently closed devices while `should(device)` says so."""
        while self._devices:
            oldest = next(iter(self._devices))
            if not should(oldest):
                return
            del self._devices[oldest]
            del self._closed_at[oldest]

    def __len__(self) -> int:
        return len(self._devices)
