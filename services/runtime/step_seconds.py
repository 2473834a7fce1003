"""Seconds a repeated piece of work spends in each of its steps, summed since start: where a
running peer's time goes, which one rate cannot say (an aggregator's close rounds, a master's
batches). Each pass takes its own laps, so passes that run at once (a master's loops) add up
without taking each other's time."""

from __future__ import annotations

import time
from collections import Counter


class Laps:
    """One pass: each lap adds the time since the previous one (or the pass's start) to its
    step."""

    def __init__(self, seconds: Counter):
        self._seconds = seconds
        self._last = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self._seconds[step] += now - self._last
        self._last = now


class StepSeconds:
    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.passes = 0

    def begin(self) -> Laps:
        """A pass starts now (and counts)."""
        self.passes += 1
        return self.laps()

    def laps(self) -> Laps:
        """A pass starts now, counted only if `count` is called (a master's loop that found
        the queue empty had no batch)."""
        return Laps(self.seconds)

    def count(self) -> None:
        self.passes += 1

    def metrics(self, seconds_name: str, passes_name: str) -> dict:
        out = {passes_name: self.passes}
        for step, seconds in dict(self.seconds).items():
            out[f'{seconds_name}{{step="{step}"}}'] = round(seconds, 3)
        return out
