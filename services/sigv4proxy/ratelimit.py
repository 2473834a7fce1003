"""Per-client token buckets shared by all gunicorn workers.

The table lives in anonymous shared memory created before gunicorn forks (the app is preloaded),
so a client gets the same budget whichever worker serves it. A client's bucket is the slot its
key hashes to: clients that collide share one bucket, which only ever makes the limit stricter."""

import mmap
import multiprocessing
import struct
import time
import zlib

_SLOT = struct.Struct("dd")  # tokens left, monotonic time of the last update (0: never used)


class SharedRateLimiter:
    def __init__(self, per_second: float, burst: int, slots: int):
        self._rate = per_second
        self._burst = float(burst)
        self._slots = slots
        self._table = mmap.mmap(-1, slots * _SLOT.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._lock = multiprocessing.Lock()

    def allow(self, client: str) -> tuple[bool, float]:
        """(allowed, seconds until the next token) for one request of `client`."""
        offset = (zlib.crc32(client.encode()) % self._slots) * _SLOT.size
        now = time.monotonic()
        with self._lock:
            tokens, last = _SLOT.unpack_from(self._table, offset)
            tokens = (
                self._burst if last == 0.0 else min(self._burst, tokens + (now - last) * self._rate)
            )
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            _SLOT.pack_into(self._table, offset, tokens, now)
        return allowed, 0.0 if allowed else (1.0 - tokens) / self._rate
