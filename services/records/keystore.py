"""Record keys, wrapped by a master key, kept apart from the ciphertexts.

`KeyStorage` is where the wrapped keys live (a separate SQLite file, a separate Firestore
collection/database); `Keyring` wraps and unwraps them. Each wrapped key carries the id of the
master key that wrapped it, so a rotation can re-wrap everything without touching a ciphertext,
and a half-finished rotation still reads (old keys listed in `previous`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.records import crypto
from services.records.base import RecordsError


@dataclass(frozen=True)
class WrappedKey:
    key_ref: str
    kek_id: str
    wrapped: bytes


class KeyStorage(ABC):
    """Persistence of wrapped keys; implementations never see a raw key."""

    @abstractmethod
    def put_many(self, keys: Iterable[WrappedKey]) -> None: ...

    @abstractmethod
    def get(self, key_ref: str) -> WrappedKey | None: ...

    @abstractmethod
    def get_many(self, key_refs: list[str]) -> dict[str, WrappedKey]: ...

    @abstractmethod
    def destroy(self, key_refs: list[str]) -> None:
        """Delete for good (secure delete, WAL checkpoint where that applies)."""

    def discard(self, key_refs: list[str]) -> None:
        """Delete keys that never protected a stored record (minted by a writer that lost a
        race to another): no erasure rests on them, so nothing waits for the log to be cleared
        of them. Here: as destroy."""
        self.destroy(key_refs)

    @abstractmethod
    def scan(self) -> Iterator[WrappedKey]: ...

    @abstractmethod
    def replace_many(self, keys: Iterable[WrappedKey]) -> None: ...

    def close(self) -> None:
        """Release connections (the Firestore client is closed by its owner)."""


class Keyring:
    """The current master key plus older ones still accepted for unwrapping."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self._by_id: dict[str, bytes] = {}
        for key in previous:
            self._by_id[crypto.master_key_id(key)] = key
        self._set_current(current)

    def _set_current(self, key: bytes) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise RecordsError("master key must be 32 bytes")
        self.current_id = crypto.master_key_id(key)
        self._by_id[self.current_id] = key

    def knows(self, kek_id: str) -> bool:
        """Can this keyring unwrap keys wrapped by the master key with that id?"""
        return kek_id in self._by_id

    def digest(self, label: bytes, data: bytes) -> bytes:
        """Keyed digest under the current master key (see crypto.keyed_digest)."""
        return crypto.keyed_digest(self._by_id[self.current_id], label, data)

    def wrap(self, key_ref: str, data_key: bytes) -> WrappedKey:
        wrapped = crypto.wrap_key(self._by_id[self.current_id], data_key, key_ref)
        return WrappedKey(key_ref, self.current_id, wrapped)

    def unwrap(self, wk: WrappedKey) -> bytes:
        master = self._by_id.get(wk.kek_id)
        if master is None:
            raise RecordsError(
                f"record key wrapped by unknown master key id {wk.kek_id}: "
                "add the old key to PULSELEDGER_RECORDS_PREVIOUS_MASTER_KEY_FILES"
            )
        return crypto.unwrap_key(master, wk.wrapped, wk.key_ref)


class Envelope:
    """Key operations of one store: mint, unwrap, rotate. `keyring` may be None for operator
    commands that need no master key (erasure destroys keys without unwrapping them)."""

    def __init__(self, keyring: Keyring | None, storage: KeyStorage) -> None:
        self.keyring = keyring
        self.storage = storage

    @property
    def ring(self) -> Keyring:
        if self.keyring is None:
            raise RecordsError(
                "no master key loaded: set PULSELEDGER_RECORDS_MASTER_KEY or _MASTER_KEY_FILE "
                "to the key the services use"
            )
        return self.keyring

    @staticmethod
    def new_key_ref() -> str:
        return os.urandom(16).hex()

    def mint(self, count: int) -> list[tuple[str, bytes, WrappedKey]]:
        """Fresh (key_ref, data key, wrapped key) triples; persist with `storage.put_many`."""
        ring = self.ring
        out = []
        for _ in range(count):
            ref, key = self.new_key_ref(), crypto.new_data_key()
            out.append((ref, key, ring.wrap(ref, key)))
        return out

    def rotate(self, new_master_key: bytes) -> int:
        """Re-wrap every key under the new master key; the old one stays accepted meanwhile."""
        ring = self.ring
        ring._set_current(new_master_key)
        count, chunk = 0, []
        for wk in self.storage.scan():
            if wk.kek_id == ring.current_id:
                continue
            chunk.append(ring.wrap(wk.key_ref, ring.unwrap(wk)))
            if len(chunk) >= 400:
                self.storage.replace_many(chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            self.storage.replace_many(chunk)
            count += len(chunk)
        return count
