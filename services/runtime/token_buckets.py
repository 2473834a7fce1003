"""Token buckets per key (a client address, a device, a forwarding peer), in memory and bounded.

A bucket fills at `rate` tokens a second up to `burst`. `wait(key, cost)` says how long until
`cost` tokens are there (0: now), `charge` spends them — below zero if a refusal that already
happened must still be paid for, so a client cannot outrun its budget by sending in parallel.
Only the `max_keys` most recently used keys are kept; a forgotten key starts full again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict


class TokenBuckets:
    def __init__(self, rate: float, burst: int, max_keys: int = 100_000, clock=time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("a budget needs a positive rate and a burst of at least 1")
        self.rate, self.burst, self.max_keys = rate, float(burst), max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are there (math.inf if more than a full bucket)."""
        if cost > self.burst:
            return math.inf
        with self._lock:
            missing = cost - self._tokens(key, self._clock())
        return max(0.0, missing / self.rate)

    def _set(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def charge(self, key: str, cost: float = 1.0) -> None:
        with self._lock:
            now = self._clock()
            self._set(key, self._tokens(key, now) - cost, now)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens if they are there (0.0), else spend nothing and say how long
        until they are."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            if tokens < cost:
                return math.inf if cost > self.burst else (cost - tokens) / self.rate
            self._set(key, tokens - cost, now)
            return 0.0

