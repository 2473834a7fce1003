"""Buyers' labelled copies of a bundle, kept briefly so that reading the same purchase again does
not relabel megabytes again.

A plaintext read of a 1,000-window bundle (2.7 MB) replaced ~12,000 subject markers with the
purchase's pseudonym on every read: a quarter of the interpreter's time of a served read (py-spy),
more than AES-GCM. For one purchase and one registered ciphertext the result is always the same
bytes, so it is kept, keyed by (record, purchase) and served only for the same registered
ciphertext hash and the same subject (a master-key rotation changes the pseudonym at once).

A copy is served only after the read has done everything a read does, again: the chain view at
the latest block (consent in force, purchase paid, access logged, record active), the stored
bundle's owner and location against the registry, and the store's read — not erased, its key held
and authentic, the ciphertext checked against the registry's hash and decrypted by AES-GCM. That
plaintext is the one the copy was made from (the same sealed bytes under their own one-seal key),
so only the labelling is skipped: a revocation, a refund, a retirement, an erasure, a lost key, a
tampered ciphertext or a new version refuses or rebuilds on the very next read, as without the
cache. A read the store refuses drops the record's copies; any copy is dropped by the first read
after it is `max_age_s` old, and the whole cache holds at most `max_bytes` (oldest first), so
plaintext does not linger in memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ENTRY_OVERHEAD = 512  # bytes counted per copy besides its body: many small copies are bounded too


@dataclass(frozen=True)
class _Copy:
    ciphertext_hash: bytes  # the registry's hash the ciphertext was checked against
    subject: str  # the pseudonym it is labelled with
    body: bytes
    made_at: float


class DeliveredCopies:
    def __init__(self, max_bytes: int, max_age_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self._max_bytes, self._max_age_s, self._clock = max_bytes, max_age_s, clock
        self._copies: OrderedDict[tuple[str, int], _Copy] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._max_bytes > 0 and self._max_age_s > 0

    def get(self, record_id: str, purchase_id: int, ciphertext_hash: bytes,
            subject: str) -> bytes | None:
        """The copy made from the ciphertext the registry names now, labelled `subject`."""
        key = (record_id, purchase_id)
        with self._lock:
            self._evict()
            copy = self._copies.get(key)
            if copy is None:
                return None
            if copy.ciphertext_hash != ciphertext_hash or copy.subject != subject:
                self._drop(key)
                return None
            return copy.body

    def put(self, record_id: str, purchase_id: int, ciphertext_hash: bytes, subject: str,
            body: bytes) -> None:
        if not self.enabled or len(body) > self._max_bytes // 4:
            return
        key = (record_id, purchase_id)
        with self._lock:
            self._drop(key)
            self._copies[key] = _Copy(ciphertext_hash, subject, body, self._clock())
            self._bytes += len(body) + ENTRY_OVERHEAD
            self._evict()

    def forget(self, record_id: str) -> None:
        """Drop every copy of a record (the store refused it: erased, key lost, tampered)."""
        with self._lock:
            self._drop_record(record_id)

    def __len__(self) -> int:
        return len(self._copies)

    def __contains__(self, key: tuple[str, int]) -> bool:
        with self._lock:
            return key in self._copies

    def _evict(self) -> None:
        """Oldest first (insertion order is age order: a copy is never refreshed in place)."""
        now = self._clock()
        while self._copies:
            key, oldest = next(iter(self._copies.items()))
            if self._bytes <= self._max_bytes and now - oldest.made_at < self._max_age_s:
                break
            self._drop(key)

    def _drop(self, key: tuple[str, int]) -> None:
        copy = self._copies.pop(key, None)
        if copy is not None:
            self._bytes -= len(copy.body) + ENTRY_OVERHEAD

    def _drop_record(self, record_id: str) -> None:
        for key in [k for k in self._copies if k[0] == record_id]:
            self._drop(key)
