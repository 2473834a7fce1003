"""Content-addressed blob store: bytes in, CID out; reads verify the bytes against the CID."""

from __future__ import annotations

from abc import ABC, abstractmethod

from services.blobs.cid import BlobTooLarge, InvalidCid


class BlobError(Exception):
    """Base of the blob store's deliberate errors."""


class BlobNotFound(BlobError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "blob not found"


class BlobTampered(BlobError):
    """The bytes returned do not hash to the CID asked for."""


class BlobStore(ABC):
    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data`; returns its CIDv1 (see services/blobs/cid.py). Idempotent."""

    @abstractmethod
    def get(self, cid: str) -> bytes:
        """The bytes of `cid`, verified; `BlobNotFound`, `BlobTampered`, `InvalidCid`."""

    @abstractmethod
    def has(self, cid: str) -> bool: ...

    def close(self) -> None:
        """Release connections, if any."""


__all__ = ["BlobError", "BlobNotFound", "BlobStore", "BlobTampered", "BlobTooLarge", "InvalidCid"]
