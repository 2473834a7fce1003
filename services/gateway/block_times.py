"""Block timestamps by block hash, remembered: the FHIR exports date every consent decision and
every access by its block, and read the block for each event (a patient with a thousand logged
accesses cost a thousand `eth_getBlockByHash` calls a request, every request).

Keyed by hash, not number: a block's hash names its contents, timestamp included, so what is
remembered can never go stale, whatever reorganises (a number's block can change until final).
Bounded, least recently used forgotten first; shared by the gateway's request threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class BlockTimes:
    def __init__(self, read: Callable[[bytes], int], keep: int = 100_000):
        """`read(block_hash)`: the block's timestamp from the chain."""
        self._read, self.keep = read, keep
        self._known: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, block_hash: bytes) -> int:
        key = bytes(block_hash)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return self._known[key]
        timestamp = self._read(key)  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._known[key] = timestamp
            while len(self._known) > self.keep:
                self._known.popitem(last=False)
        return timestamp
