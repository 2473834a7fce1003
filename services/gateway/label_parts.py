"""A bundle's plaintext split at its subject markers, kept per stored version, so that labelling a
buyer's copy is one join instead of a search of megabytes.

A plaintext read of a 1,000-window bundle (2.7 MB) replaced ~10,000 subject markers with the
purchase's pseudonym on every read: ~4 ms, a quarter of the interpreter's time of a served read
(py-spy), more than AES-GCM. The markers are where they are for every buyer of one sealed
version, so the pieces between them are kept, keyed by record and used only for the same
registered ciphertext hash; each read joins them with its own purchase's subject (~0.7 ms).

Every read does every check of authority again: the chain view at the latest block (consent in
force, purchase paid, access logged, record active), and the store's row of the bundle — owner
and location as the registry names them, not erased, its key held and authentic, its recorded
ciphertext hash the registry's. So a revocation, a refund, a retirement, an erasure, a lost key or
a new version refuses or rebuilds on the very next read, as without the cache.

What warm pieces spare besides the search is re-reading the ciphertext itself (megabytes from
the row or the blob store) and decrypting it, for `recheck_s` after the last read that did
(`fresh`). The pieces were cut from bytes that passed the registry's hash and AES-GCM, so what is
served in between is the registered data; what waits is only the *discovery* of a ciphertext
changed at rest since: the first read after `recheck_s` reads and authenticates it again, and a
tampered one is refused, alerted and its pieces dropped. (A 2.7 MB bundle: ~1.5 ms of the
interpreter's time per read spared, docs/decisions/2026-12-03-warm-bundle-reads.md.)

A read the store refuses drops the record's pieces; any entry is dropped by the first read after
it is `max_age_s` old, and the whole cache holds at most `max_bytes` (oldest first), so plaintext
does not linger in memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ENTRY_OVERHEAD = 512  # bytes counted per entry besides its pieces: many small entries are bounded too
PIECE_OVERHEAD = 40  # a bytes object's own size


@dataclass
class _Parts:
    ciphertext_hash: bytes  # the registry's hash the ciphertext was checked against
    pieces: tuple[bytes, ...]
    size: int
    made_at: float
    checked_at: float  # the last read that fetched, authenticated and decrypted the ciphertext


class LabelParts:
    def __init__(self, max_bytes: int, max_age_s: float, recheck_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self._max_bytes, self._max_age_s, self._clock = max_bytes, max_age_s, clock
        self._recheck_s = recheck_s
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

    def fresh(self, record_id: str, ciphertext_hash: bytes) -> tuple[bytes, ...] | None:
        """The pieces, if a read fetched and authenticated this very ciphertext less than
        `recheck_s` ago: the store's row checks are then all a read must do again."""
        with self._lock:
            entry = self._entries.get(record_id)
            if (entry is None or entry.ciphertext_hash != ciphertext_hash
                    or self._clock() - entry.checked_at >= self._recheck_s):
                return None
        return self.get(record_id, ciphertext_hash)  # age and bounds as for any use

    def checked(self, record_id: str) -> None:
        """A read fetched, authenticated and decrypted the record's ciphertext again."""
        with self._lock:
            entry = self._entries.get(record_id)
            if entry is not None:
                entry.checked_at = self._clock()

    def put(self, record_id: str, ciphertext_hash: bytes, pieces: tuple[bytes, ...]) -> None:
        size = ENTRY_OVERHEAD + sum(len(p) + PIECE_OVERHEAD for p in pieces)
        if not self.enabled or size > self._max_bytes // 4:
            return
        with self._lock:
            self._drop(record_id)
            now = self._clock()
            self._entries[record_id] = _Parts(ciphertext_hash, pieces, size, now, now)
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
