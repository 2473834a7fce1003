"""The embedded blob store: a directory of files named by their CID (computed in-process)."""

from __future__ import annotations

from pathlib import Path

from services.blobs.base import BlobNotFound, BlobStore, BlobTampered
from services.blobs.cid import compute_cid, parse_cid
from services.runtime.durable_files import write_atomically


class LocalDirBlobStore(BlobStore):
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, cid: str) -> Path:
        cid = parse_cid(cid)
        return self.directory / cid[-2:] / cid  # fan out so no directory grows huge

    def put(self, data: bytes) -> str:
        cid = compute_cid(bytes(data))
        path = self._path(cid)
        if path.exists():
            return cid
        # a reader never sees half a blob, and one reported written survives a crash
        write_atomically(path, data, 0o600)
        return cid

    def get(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {cid}") from None
        if compute_cid(data) != cid:
            raise BlobTampered(f"blob {cid} does not match its content identifier")
        return data

    def has(self, cid: str) -> bool:
        return self._path(cid).exists()
