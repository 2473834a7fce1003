"""Blobs on IPFS through a Kubo node's HTTP RPC (ipfshttpclient).

The client is constructed directly: `ipfshttpclient.connect()` refuses daemons newer than 0.8.0,
which every current Kubo is. `add` always sends the options of Kubo's `unixfs-v1-2025` import
profile (CIDv1, raw leaves, 1 MiB chunks), so the CID Kubo answers equals the one we compute
locally — and we check that it does, and check every `cat` against its CID.

Tested at the HTTP boundary only: no Kubo binary can be installed on these machines, so
tests/blobs runs a loopback HTTP server that answers /api/v0/add and /api/v0/cat the way Kubo
does (newline-delimited JSON for add, raw bytes for cat, HTTP 500 + JSON error otherwise).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import ipfshttpclient
from ipfshttpclient.exceptions import ErrorResponse

from services.blobs.base import BlobError, BlobNotFound, BlobStore, BlobTampered
from services.blobs.cid import CHUNK_SIZE, compute_cid, parse_cid

ADD_OPTIONS = {
    "cid-version": 1,
    "raw-leaves": "true",
    "chunker": f"size-{CHUNK_SIZE}",
    "hash": "sha2-256",
    "pin": "true",
}


class IpfsBlobStore(BlobStore):
    def __init__(self, api_multiaddr: str, *, timeout_s: float = 30.0, offline: bool = True):
        # offline: a missing block fails fast instead of the node searching the network for it
        self._client = ipfshttpclient.Client(
            addr=api_multiaddr, timeout=timeout_s, offline=offline, session=True
        )

    def put(self, data: bytes) -> str:
        expected = compute_cid(bytes(data))  # also rejects what we could not verify later
        with _quiet_urllib3():
            answered = self._client.add_bytes(bytes(data), opts=dict(ADD_OPTIONS))
        if answered != expected:
            raise BlobError(
                f"IPFS node answered CID {answered}, expected {expected}: check its import options"
            )
        return expected

    def get(self, cid: str) -> bytes:
        cid = parse_cid(cid)
        try:
            with _quiet_urllib3():
                data = self._client.cat(cid)
        except ErrorResponse as exc:
            if "not found" in str(exc).lower():
                raise BlobNotFound(f"no blob {cid}") from None
            raise BlobError(f"IPFS node refused cat: {exc}") from None
        if compute_cid(data) != cid:
            raise BlobTampered(f"blob {cid} does not match its content identifier")
        return data

    def has(self, cid: str) -> bool:
        try:
            self.get(cid)
        except BlobNotFound:
            return False
        return True

    def close(self) -> None:
        self._client.close()


@contextmanager
def _quiet_urllib3() -> Iterator[None]:
    """ipfshttpclient 0.8.0a2 passes urllib3 a `strict` argument it no longer needs, on every
    request; that FutureWarning says nothing about our use."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The 'strict' parameter", category=FutureWarning)
        yield
