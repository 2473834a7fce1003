"""Content-addressed blob store (CIDv1): a local directory by default, IPFS (Kubo RPC) by setting."""

from __future__ import annotations

from services.blobs.base import (
    BlobError,
    BlobNotFound,
    BlobStore,
    BlobTampered,
    BlobTooLarge,
    InvalidCid,
)
from services.blobs.cid import compute_cid
from services.blobs.settings import BlobsSettings


def open_blob_store(settings: BlobsSettings | None = None) -> BlobStore:
    settings = settings or BlobsSettings()
    if settings.backend == "local":
        from services.blobs.local_dir import LocalDirBlobStore

        return LocalDirBlobStore(settings.local_dir)
    from services.blobs.ipfs import IpfsBlobStore

    return IpfsBlobStore(
        settings.ipfs_api, timeout_s=settings.ipfs_timeout_s, offline=settings.ipfs_offline
    )


__all__ = [
    "BlobError",
    "BlobNotFound",
    "BlobStore",
    "BlobTampered",
    "BlobTooLarge",
    "BlobsSettings",
    "InvalidCid",
    "compute_cid",
    "open_blob_store",
]
