"""The registered devices validation asks about, cached: a lookup hits the record store once per
device per ttl, not once per message. Only registrations are cached: a device registered a
moment ago is found at once, a device removed is still admitted for up to ttl_s."""

from __future__ import annotations

import threading
import time


class CachedDevices:
    def __init__(self, store, ttl_s: float = 30.0, max_entries: int = 100_000):
        self.store, self.ttl_s, self.max_entries = store, ttl_s, max_entries
        self._cache: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get_device(self, device_id: str):
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(device_id)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        device = self.store.get_device(device_id)  # an outage raises: the caller answers 503
        if device is not None:
            with self._lock:
                if len(self._cache) >= self.max_entries:
                    self._cache.clear()  # rare: more devices than entries; start over
                self._cache[device_id] = (now, device)
        return device
