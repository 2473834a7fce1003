"""Record store: encrypted window records, bundles, batches, onboarding data (see docs/records.md)."""

from __future__ import annotations

from services.records.base import (
    AnchorCheck,
    Batch,
    BundleVet,
    ChainIdentity,
    Change,
    Conflict,
    CursorExpired,
    DeadLetter,
    Device,
    Doctor,
    InvalidInput,
    KeyMissing,
    NotAnchored,
    PendingEmail,
    Profile,
    RecordErased,
    RecordNotFound,
    RecordsError,
    RecordStore,
    SellableRecord,
    StoreNotFound,
    TamperDetected,
    WindowInput,
    WindowMeta,
    WindowPartsFull,
    WindowRef,
)
from services.records.integrity import IntegrityAlert
from services.records.settings import RecordsSettings
from services.records.store import Store


def open_store(
    settings: RecordsSettings | None = None,
    chain: ChainIdentity | None = None,
    *,
    create: bool = True,
    require_master_key: bool = True,
) -> Store:
    """Open the configured backend for `chain` (default: the chain identity in settings).

    `create=False`: an absent namespace raises `StoreNotFound` instead of being created.
    `require_master_key=False`: open without a master key if none is configured (erasure and
    listings work; anything that seals or opens a record says the key is missing)."""
    settings = settings or RecordsSettings()
    chain = chain or settings.chain_identity()
    if settings.backend == "sqlite":
        from services.records.sqlite_store import SqliteRecordStore

        return SqliteRecordStore.from_settings(settings, chain, create=create,
                                               require_master_key=require_master_key)
    from services.records.firestore_store import FirestoreRecordStore

    return FirestoreRecordStore.from_settings(settings, chain, create=create,
                                              require_master_key=require_master_key)


__all__ = [
    "AnchorCheck",
    "Batch",
    "BundleVet",
    "ChainIdentity",
    "Change",
    "Conflict",
    "CursorExpired",
    "DeadLetter",
    "Device",
    "Doctor",
    "IntegrityAlert",
    "InvalidInput",
    "KeyMissing",
    "NotAnchored",
    "PendingEmail",
    "Profile",
    "RecordErased",
    "RecordNotFound",
    "RecordStore",
    "RecordsError",
    "RecordsSettings",
    "SellableRecord",
    "Store",
    "StoreNotFound",
    "TamperDetected",
    "WindowInput",
    "WindowMeta",
    "WindowPartsFull",
    "WindowRef",
    "open_store",
]
