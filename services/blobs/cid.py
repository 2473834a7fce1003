"""IPFS content identifiers computed in-process, equal to what Kubo prints.

We implement the Kubo import profile `unixfs-v1-2025` (IPIP-499): CIDv1, sha2-256, raw leaves,
1 MiB chunks, at most 1024 links per node, base32 text.

- up to 1 MiB: one raw block, `bafkrei…` = CIDv1(raw, sha2-256(bytes));
- above 1 MiB: a dag-pb UnixFS file node whose links are the raw 1 MiB leaves, `bafybei…`;
- above 1024 chunks (1 GiB) Kubo would add a second DAG layer: we reject (`BlobTooLarge`).

Kubo's own defaults without a profile (`unixfs-v0-2015`: CIDv0, 256 KiB chunks) give other CIDs
for the same bytes; the IPFS adapter therefore always sends the profile's options with `add`.
Checked against Kubo's test vectors (test/cli/cid_profiles_test.go) in tests/blobs.
"""

from __future__ import annotations

import base64
import hashlib

CHUNK_SIZE = 1024 * 1024
MAX_LINKS = 1024
MAX_BYTES = CHUNK_SIZE * MAX_LINKS

_CIDV1 = 0x01
_RAW = 0x55
_DAG_PB = 0x70
_SHA2_256 = 0x12
_UNIXFS_FILE = 2


class BlobTooLarge(ValueError):
    """More bytes than one layer of 1024 x 1 MiB leaves (what we can address honestly)."""


class InvalidCid(ValueError):
    """Not a CIDv1 sha2-256 (raw or dag-pb) in base32."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _field(number: int, value: bytes | int) -> bytes:
    """Protobuf field: bytes → length-delimited (wire type 2), int → varint (wire type 0)."""
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _cid_bytes(codec: int, data: bytes) -> bytes:
    return bytes([_CIDV1, codec, _SHA2_256, 32]) + hashlib.sha256(data).digest()


def _text(cid: bytes) -> str:
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


def raw_cid(data: bytes) -> str:
    """CID of `data` as one raw block (any size; Kubo only makes one up to CHUNK_SIZE)."""
    return _text(_cid_bytes(_RAW, data))


def compute_cid(data: bytes) -> str:
    """The CID Kubo (profile unixfs-v1-2025) gives these bytes."""
    if len(data) <= CHUNK_SIZE:
        return raw_cid(data)
    if len(data) > MAX_BYTES:
        raise BlobTooLarge(f"blobs larger than {MAX_BYTES} bytes are not supported")
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]
    # dag-pb canonical order: Links (field 2) before Data (field 1); Kubo writes an empty Name
    links = b"".join(
        _field(2, _field(1, _cid_bytes(_RAW, c)) + _field(2, b"") + _field(3, len(c)))
        for c in chunks
    )
    unixfs = (
        _field(1, _UNIXFS_FILE) + _field(3, len(data)) + b"".join(_field(4, len(c)) for c in chunks)
    )
    return _text(_cid_bytes(_DAG_PB, links + _field(1, unixfs)))


def parse_cid(text: str) -> str:
    """Validate a CID string we could have produced; returns it unchanged."""
    if not isinstance(text, str) or not text.startswith("b") or len(text) != 59:
        raise InvalidCid("expected a base32 CIDv1 (59 characters starting with 'b')")
    try:
        raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
    except ValueError:
        raise InvalidCid("not base32") from None
    if (
        len(raw) != 36
        or raw[0] != _CIDV1
        or raw[1] not in (_RAW, _DAG_PB)
        or raw[2:4] != bytes([_SHA2_256, 32])
    ):
        raise InvalidCid("expected CIDv1, raw or dag-pb, sha2-256")
    return text
