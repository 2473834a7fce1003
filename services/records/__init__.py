"""Record store: encrypted window records, bundles, batches, onboarding data (see docs/records.md)."""

from __future__ import annotations

from services.records.base import (
    AnchorCheck,
    Batch,
    ChainIdentity,
    Change,
    Conflict,
    DeadLetter,
    Device,
    Doctor,
    InvalidInput,
    NotAnchored,
    RecordErased,
    RecordNotFound,
    RecordsError,
    RecordStore,
    SellableRecord,
    TamperDetected,
    WindowInput,
    WindowMeta,
    WindowRef,
)
from services.records.settings import RecordsSettings


def open_store(
    settings: RecordsSettings | None = None, chain: ChainIdentity | None = None
) -> RecordStore:
    """Open the configured backend for `chain` (default: the chain identity in settings)."""
    settings = settings or RecordsSettings()
    chain = chain or settings.chain_identity()
    if settings.backend == "sqlite":
        from services.records.sqlite_store import SqliteRecordStore

        return SqliteRecordStore.from_settings(settings, chain)
    from services.records.firestore_store import FirestoreRecordStore

    return FirestoreRecordStore.from_settings(settings, chain)


__all__ = [
    "AnchorCheck",
    "Batch",
    "ChainIdentity",
    "Change",
    "Conflict",
    "DeadLetter",
    "Device",
    "Doctor",
    "InvalidInput",
    "NotAnchored",
    "RecordErased",
    "RecordNotFound",
    "RecordStore",
    "RecordsError",
    "RecordsSettings",
    "SellableRecord",
    "TamperDetected",
    "WindowInput",
    "WindowMeta",
    "WindowRef",
    "open_store",
]
