"""Sliding-window rate limits kept in memory (the relay's per-patient and per-IP budgets)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from services.gateway.errors import TooManyRequests


class RateLimiter:
    def __init__(self, limit: int, window_s: float, what: str):
        self._limit = limit
        self._window_s = window_s
        self._what = what
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one use of `key`, or raise TooManyRequests if its budget is spent."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self._window_s:
                hits.popleft()
            if len(hits) >= self._limit:
                retry = int(hits[0] + self._window_s - now) + 1
                raise TooManyRequests(
                    f"too many relay requests for this {self._what}: retry in {retry} s")
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory: forget idle keys
                for idle in [k for k, v in self._hits.items() if not v][:50_000]:
                    del self._hits[idle]
