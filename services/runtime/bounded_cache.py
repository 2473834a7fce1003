"""A bounded, thread-safe LRU for facts that never change once true (the gateway's confirmed
accesses, docs/gateway.md; the record store's verified bundle digests, docs/records.md)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class BoundedCache:
    """At most `capacity` entries; the least recently used goes first. Holds only immutable facts,
    so evicting one costs a re-read, never a wrong answer."""

    def __init__(self, capacity: int):
        self._capacity, self._entries, self._lock = capacity, OrderedDict(), threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def add(self, key: Hashable, value: Any = True) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
