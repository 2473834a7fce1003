"""Backpressure: when the queue holds more than a set number of messages, the masters are behind,
and devices are told to come back later (429 with Retry-After) instead of piling on.

The depth is sampled at most every `refresh_s` (a COUNT over the local queue, a management call
on Service Bus), by whichever request finds it stale; the others use the last sample. Each client
is told a different time within [retry_after_s, 2 × retry_after_s], so devices refused together
do not all come back in the same second.
"""

from __future__ import annotations

import random
import threading
import time


class QueueBehind:
    def __init__(self, queue, limit: int, refresh_s: float, retry_after_s: int,
                 clock=time.monotonic, rng: random.Random | None = None):
        self.queue, self.limit, self.refresh_s = queue, limit, refresh_s
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._depth: int | None = None
        self._sampled_at = -float("inf")
        self._refreshing = threading.Lock()

    def depth(self) -> int:
        """The last sample, refreshed first if stale (raises if the queue cannot be read and no
        sample was ever taken)."""
        if self._clock() - self._sampled_at >= self.refresh_s \
                and self._refreshing.acquire(blocking=self._depth is None):
            try:
                self._depth = self.queue.depth()
                self._sampled_at = self._clock()
            finally:
                self._refreshing.release()
        return self._depth

    def retry_after(self) -> int | None:
        """Seconds the client should wait, or None when the queue is not behind."""
        if self.depth() <= self.limit:
            return None
        return self._rng.randint(self.retry_after_s, 2 * self.retry_after_s)
