"""Bundles (sellable records registered on-chain) and record keys for buyers: written once.

A buyer read of a large bundle is mostly bytes: the ciphertext row, its sha256, AES-GCM. What this
module spares on every read (docs/records.md, "Bundle reads"):

- `bundle_meta` never reads the ciphertext (both backends read only the named fields);
- a reader that must vet the record before anything is decrypted (the gateway: the owner and
  location the registry names) passes `vet`, called with the metadata of the very row that is then
  decrypted: one row read per delivery, and no window for another version between check and read;
- the sha256 is computed once per stored version and remembered (`verified_digests`): a later
  `get_bundle` of the same version skips it, because it decrypts with AES-GCM under that
  version's own key, and a ciphertext that passes GCM under a key used for exactly one seal is
  those sealed bytes, whose digest was checked. A changed row (other digest, other key) or a
  registry hash other than the remembered one is checked in full again; `sealed_bundle` (nothing
  decrypted) always hashes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.records import crypto
from services.records import validation as v
from services.records.base import (
    BundleVet,
    Conflict,
    InvalidInput,
    RecordErased,
    RecordNotFound,
    SellableRecord,
    TamperDetected,
)
from services.records.integrity import TAMPERED
from services.records.tables import NewChange, Row, Write

if TYPE_CHECKING:
    from services.records.store import Store

# Everything of a bundle row but its ciphertext (up to megabytes): what metadata reads fetch.
META_FIELDS = ["owner", "data_class", "version", "pointer", "ciphertext_sha256", "created_ms",
               "erased_ms"]
VERIFIED_DIGESTS = 4096  # bundles whose digest is remembered (an entry is ~200 bytes)


class BundlesMixin:
    def put_bundle(
        self: Store,
        owner: str,
        bundle_id: str,
        data_class: int,
        plaintext: bytes,
        *,
        version: int = 1,
        blobs: Any | None = None,
    ) -> SellableRecord:
        owner, bundle_id = v.address(owner, "owner"), v.bytes32_id(bundle_id, "bundle id")
        data_class, version = v.data_class(data_class), v.version(version)
        if not isinstance(plaintext, bytes | bytearray):
            raise InvalidInput("bundle plaintext must be bytes")
        old = self.tables.get("bundles", bundle_id, ["version"])
        if old is not None and version <= old["version"]:
            raise Conflict(f"bundle already at version {old['version']}; a new version must be higher")
        [(key_ref, key, wrapped)] = self.envelope.mint(1)
        sealed = crypto.seal(key, bytes(plaintext),
                             crypto.associated_data(self.namespace, bundle_id, version, owner))
        sha = crypto.sha256(sealed)
        limit = self.tables.max_inline_bytes
        if blobs is not None:
            pointer, stored = "ipfs://" + blobs.put(sealed), None
        elif limit is not None and len(sealed) > limit:
            raise InvalidInput("bundle too large to keep in this backend's documents: pass blobs=")
        else:
            pointer, stored = f"records://{self.namespace}/bundles/{bundle_id}", sealed
        now = v.now_ms()
        fields = {"owner": owner, "data_class": data_class, "version": version, "key_ref": key_ref,
                  "pointer": pointer, "ciphertext": stored, "ciphertext_sha256": sha,
                  "created_ms": now, "erased_ms": None}

        def replace(txn) -> str | None:
            current = txn.get("bundles", bundle_id)
            if current is not None and version <= current["version"]:
                raise Conflict(f"bundle already at version {current['version']}; "
                               "a new version must be higher")
            txn.write(Write("set", "bundles", bundle_id, fields))
            txn.change(NewChange(owner, "bundle_added", bundle_id))
            return current["key_ref"] if current is not None else None

        self.keys.put_many([wrapped])
        try:
            previous_key = self.tables.transact(replace)
        except Conflict:
            self.keys.discard([key_ref])  # a concurrent writer won: our key is not needed
            raise
        if previous_key is not None:  # the old version is crypto-shredded: only the new one reads
            self.keys.destroy([previous_key])
        return SellableRecord(bundle_id, owner, pointer, sha, data_class, version, now)

    def bundle_meta(self: Store, bundle_id: str) -> SellableRecord:
        return _meta(self._bundle_row(bundle_id, META_FIELDS))

    def get_bundle(
        self: Store, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None,
        vet: BundleVet | None = None,
    ) -> bytes:
        sealed, ad, row = self._checked_bundle(bundle_id, expected_hash, blobs, trust_gcm=True,
                                               vet=vet)
        key = self._data_key("bundles", row)
        try:
            plaintext = crypto.open_sealed(key, sealed, ad)
        except TamperDetected:
            self.verified_digests.discard(row["bundle_id"])
            raise self._failure("bundles", row, TAMPERED,
                                "authentication failed (ciphertext, nonce, tag or binding)")
        return plaintext

    def check_bundle_row(self: Store, bundle_id: str, *, expected_hash: bytes,
                         vet: BundleVet | None = None) -> None:
        """Everything `get_bundle` checks but the ciphertext itself, from the row's metadata
        alone: `vet` on it, not erased, the recorded hash the registry's, the key held and
        authentic. For a reader that holds this version's plaintext, authenticated by a recent
        `get_bundle` (the gateway's warm pieces); raises as `get_bundle` would."""
        row = self._bundle_row(bundle_id, [*META_FIELDS, "key_ref"])
        if vet is not None:
            vet(_meta(row))
        if row.get("erased_ms") is not None:
            raise RecordErased(f"bundle {bundle_id} was erased")
        if row["ciphertext_sha256"] != expected_hash:
            raise self._failure("bundles", row, TAMPERED,
                                "the recorded ciphertext hash is not the registry's ciphertextHash")
        self._data_key("bundles", row)

    def sealed_bundle(
        self: Store, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None,
        vet: BundleVet | None = None,
    ) -> tuple[bytes, bytes]:
        sealed, ad, _ = self._checked_bundle(bundle_id, expected_hash, blobs, vet=vet)
        return sealed, ad

    def record_key(self: Store, record_id: str) -> bytes:
        table, row = self._locate(record_id)
        if row.get("erased_ms") is not None:
            raise RecordErased(f"record {record_id} was erased")
        return self._data_key(table, row)

    # ------------------------------------------------------------------------------ helpers
    def _bundle_row(self: Store, bundle_id: str, fields: list[str] | None = None) -> Row:
        row = self.tables.get("bundles", v.bytes32_id(bundle_id, "bundle id"), fields)
        if row is None:
            raise RecordNotFound(f"no bundle {bundle_id}")
        return row

    def _checked_bundle(self: Store, bundle_id: str, expected_hash: bytes | None,
                        blobs: Any | None, *, trust_gcm: bool = False,
                        vet: BundleVet | None = None) -> tuple[bytes, bytes, Row]:
        """(sealed, associated data, row), its hash checked against the registry and itself.
        `trust_gcm`: the caller decrypts next, so a version whose digest was verified before is
        not hashed again (the module's docstring says why that is the same check). `vet` sees
        the row's metadata first, erased or not, and may refuse it."""
        row = self._bundle_row(bundle_id)
        if vet is not None:
            vet(_meta(row))
        if row.get("erased_ms") is not None:
            raise RecordErased(f"bundle {bundle_id} was erased")
        sealed = self._fetch_bundle(row, blobs)
        stored = row["ciphertext_sha256"]
        verified = (row["key_ref"], stored)
        if (trust_gcm and self.verified_digests.get(row["bundle_id"]) == verified
                and expected_hash in (None, stored)):
            return sealed, self._bundle_ad(row), row
        actual = crypto.sha256(sealed)
        if expected_hash is not None and actual != expected_hash:
            raise self._failure("bundles", row, TAMPERED,
                                "ciphertext does not match the registry's ciphertextHash")
        if actual != stored:
            raise self._failure("bundles", row, TAMPERED,
                                "ciphertext does not match its recorded sha256")
        self.verified_digests.add(row["bundle_id"], verified)
        return sealed, self._bundle_ad(row), row

    def _bundle_ad(self: Store, row: Row) -> bytes:
        return crypto.associated_data(self.namespace, row["bundle_id"], row["version"], row["owner"])

    def _fetch_bundle(self: Store, row: Row, blobs: Any | None) -> bytes:
        if row.get("ciphertext") is not None:
            return bytes(row["ciphertext"])
        pointer = row["pointer"]
        if not pointer.startswith("ipfs://"):
            if self.tables.is_journaled(row["bundle_id"]):
                raise RecordErased(f"bundle {row['bundle_id']} was erased")
            raise self._failure("bundles", row, TAMPERED,
                                "the ciphertext is gone but the bundle was never erased")
        if blobs is None:
            raise InvalidInput("this bundle lives in a blob store: pass blobs=")
        from services.blobs.base import BlobNotFound, BlobTampered

        try:
            return blobs.get(pointer.removeprefix("ipfs://"))
        except BlobTampered as exc:
            raise self._failure("bundles", row, TAMPERED, f"blob store: {exc}") from None
        except BlobNotFound as exc:
            raise RecordNotFound(f"bundle ciphertext missing from the blob store: {exc}") from None


def _meta(row: Row) -> SellableRecord:
    return SellableRecord(row["bundle_id"], row["owner"], row["pointer"], row["ciphertext_sha256"],
                          row["data_class"], row["version"], row["created_ms"],
                          erased=row.get("erased_ms") is not None)
