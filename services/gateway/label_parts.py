"""A bundle's plaintext split at its subject markers, kept per stored version, so that labelling a
buyer's copy is one join instead of a search of megabytes.

A plaintext read of a 1,000-window bundle (2.7 MB) replaced ~10,000 subject markers with the
purchase's pseudonym on every read: ~4 ms, a quarter of the interpreter's time of a served read
(py-spy), more than AES-GCM. The markers are where they are for every buyer of one sealed
version, so the pieces between them are kept, keyed by record and used only for the same
registered ciphertext hash; each read joins them with its own purchase's subject (~0.7 ms).

The pieces are used only after the read has done everything a read does, again: the chain view
at the latest block (consent in force, purchase paid, access logged, record active), the stored
bundle's owner and location against the registry, and the store's read — not erased, its key held
and authentic, the ciphertext checked against the registry's hash and decrypted by AES-GCM. That
plaintext is the one the pieces were cut from (the same sealed bytes under their own one-seal
key), so only the search is skipped: a revocation, a refund, a retirement, an erasure, a lost key,
a tampered ciphertext or a new version refuses or rebuilds on the very next read, as without the
cache. A read the store refuses drops the record's pieces; any entry is dropped by the first read
after it is `max_age_s` old, and the whole cache holds at most `max_bytes` (oldest first), so
plaintext does not linger in memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ENTRY_OVERHEAD = 512  # bytes counted per entry besides its pieces: many small entries are bounded too
PIECE_OVERHEAD = 40  # a bytes object's own size


@dataclass(frozen=True)
class _Parts:
    ciphertext_hash: bytes  # the registry's hash the ciphertext was checked against
    pieces: tuple[bytes, ...]
    size: int
    made_at: float


class LabelParts:
    def __init__(self, max_bytes: int, max_age_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self._max_bytes, self._max_age_s, self._clock = max_bytes, max_age_s, clock
        self._entries: OrderedDict[str, _Parts] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._max_bytes > 0 and self._max_age_s > 0

    def get(self, record_id: str, ciphertext_hash: bytes) -> tuple[bytes, ...] | None:
        """The pieces cut from the ciphertext the registry names now; None otherwise."""
        with self._lock:
            self._evict()
            entry = self._entries.get(record_id)
            if entry is None:
                return None
            if entry.ciphertext_hash != ciphertext_hash:
                self._drop(record_id)
                return None
            return entry.pieces

    def put(self, record_id: str, ciphertext_hash: bytes, pieces: tuple[bytes, ...]) -> None:
        size = ENTRY_OVERHEAD + sum(len(p) + PIECE_OVERHEAD for p in pieces)
        if not self.enabled or size > self._max_bytes // 4:
            return
        with self._lock:
            self._drop(record_id)
            self._entries[record_id] = _Parts(ciphertext_hash, pieces, size, self._clock())
            self._bytes += size
            self._evict()

    def forget(self, record_id: str) -> None:
        """Drop a record's pieces (the store refused it: erased, key lost, tampered)."""
        with self._lock:
            self._drop(record_id)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, record_id: str) -> bool:
        with self._lock:
            return record_id in self._entries

    def _evict(self) -> None:
        """Oldest first (insertion order is age order: an entry is never refreshed in place)."""
        now = self._clock()
        while self._entries:
            record_id, oldest = next(iter(self._entries.items()))
            if self._bytes <= self._max_bytes and now - oldest.made_at < self._max_age_s:
                break
            self._drop(record_id)

    def _drop(self, record_id: str) -> None:
        entry = self._entries.pop(record_id, None)
        if entry is not None:
            self._bytes -= entry.size
