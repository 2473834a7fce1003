"""Block timestamps by block hash, remembered: the FHIR exports date every consent decision and
every access by its block, and read the block for each event (a patient with a thousand logged
accesses cost a thousand `eth_getBlockByHash` calls a request, every request).

Keyed by hash, not number: a block's hash names its contents, timestamp included, so what is
remembered can never go stale, whatever reorganises (a number's block can change until final):
an immutable fact, kept in the project's bounded LRU for those (runtime/bounded_cache.py).
"""

from __future__ import annotations

from collections.abc import Callable

from services.runtime.bounded_cache import BoundedCache


class BlockTimes:
    def __init__(self, read: Callable[[bytes], int], keep: int = 100_000):
        """`read(block_hash)`: the block's timestamp from the chain."""
        self._read = read
        self._known = BoundedCache(keep)

    def of(self, block_hash: bytes) -> int:
        key = bytes(block_hash)
        timestamp = self._known.get(key)
        if timestamp is None:  # read outside any lock: other requests go on meanwhile
            timestamp = self._read(key)
            self._known.add(key, timestamp)
        return timestamp
