"""May this buyer have this sellable record now? And deliver it (confirming delivery on-chain once).

A record is served only when, on-chain: the purchase is the buyer's and covers the record (same
patient, same data class), the purchase's own consent is in force (`isInForce`: its request is
approved, unrevoked and in its period), the purchase is Paid or Delivered, and the buyer's
`AccessLogged(buyer, patient, record, purchase)` has the configured confirmations. Then, before
anything is read: the stored bundle's owner must be the patient the chain names and its location
must be the one registered (`locationDigest`), and the store checks the ciphertext against the
registry's `ciphertextHash` before decrypting.
The first delivery sends `confirmDelivery(purchaseId)` from the gateway's account (escrow release).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.blobs import BlobNotFound, BlobTampered
from services.chain.enums import RecordStatus
from services.chain.record_registry import location_digest
from services.gateway.context import Gateway
from services.gateway.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    Gone,
    NotFound,
    Tampered,
)
from services.gateway.ledger import (
    PURCHASE_DELIVERED,
    PURCHASE_PAID,
    PURCHASE_REFUNDED,
    ChainReverted,
)
from services.gateway.observability import log
from services.market import pseudonyms
from services.records import (
    BundleVet,
    KeyMissing,
    RecordErased,
    RecordNotFound,
    SellableRecord,
    TamperDetected,
)

ZERO_ADDRESS = "0x" + "00" * 20
# Striped locks: two concurrent first reads of one purchase send one confirmDelivery, without a
# lock per purchase kept forever.
_confirm_locks = [threading.Lock() for _ in range(64)]


@dataclass(frozen=True)
class Grant:
    record_id: str  # 0x + 64 hex
    buyer: str
    patient: str
    purchase_id: int
    data_class: int
    ciphertext_hash: bytes
    location_digest: bytes
    version: int
    delivered: bool  # purchase already Delivered when checked: no confirmDelivery needed


def authorise(gw: Gateway, buyer: str, record_id: bytes, purchase_id: int) -> Grant:
    ledger = gw.ledger
    view = ledger.buyer_view(buyer, record_id, purchase_id)  # one JSON-RPC batch
    record, consent, data_class = view["record"], view["request"], view["data_class"]
    patient = record["patient"]
    if int(patient, 16) == 0:
        raise NotFound("no record with this id in the registry")
    if not _active(record):
        raise Gone("the record was retired from the registry", code="retired")
    if consent["requester"].lower() != buyer.lower():
        raise _refuse(gw, "not_your_purchase", "this purchase belongs to another buyer")
    if consent["patient"].lower() != patient.lower() or data_class != int(record["dataClass"]):
        raise _refuse(gw, "purchase_does_not_cover_record",
                      "the purchase does not cover this record (other patient or data class)")
    if not view["consent_in_force"]:
        raise _refuse(gw, "no_consent", "this purchase's consent is not in force "
                      "(not approved, not yet started, expired, denied or revoked)")
    status = int(view["purchase"]["status"])
    if status == PURCHASE_REFUNDED:
        raise _refuse(gw, "purchase_refunded", "the purchase was refunded")
    if status not in (PURCHASE_PAID, PURCHASE_DELIVERED):
        raise _refuse(gw, "not_paid", "the purchase is not paid")
    if not view["access_logged"]:
        raise _refuse(gw, "access_not_logged",
                      f"no AccessLogged for this record and purchase by you with "
                      f"{gw.ledger.confirmations} confirmation(s): call "
                      "logAccess(recordId, purchaseId) and wait")
    return Grant("0x" + record_id.hex(), buyer, patient, purchase_id, data_class,
                 bytes(record["ciphertextHash"]), bytes(record["locationDigest"]),
                 int(record.get("version", 1)), delivered=status == PURCHASE_DELIVERED)


def stored_bundle_check(grant: Grant) -> BundleVet:
    """The bundle the store holds under this id must be the registered one: owned by the patient the
    chain names, at the location it registered. Otherwise nothing is served and the operator is told
    (a log line): a registry entry that names one patient must never release another's data. The
    store runs it on the row it then reads (`vet`), before anything is fetched or decrypted."""

    def check(meta: SellableRecord) -> None:
        if meta.owner.lower() != grant.patient.lower():
            log("bundle_owner_mismatch", record=grant.record_id)
            raise Tampered("the stored bundle belongs to another patient than the one the registry "
                           "names; nothing is served", code="owner_mismatch")
        if location_digest(meta.pointer) != grant.location_digest:
            log("bundle_location_mismatch", record=grant.record_id)
            raise Tampered("the stored bundle is not at the location the registry names; nothing "
                           "is served", code="location_mismatch")

    return check


def plaintext(gw: Gateway, grant: Grant) -> bytes:
    """Verify owner, location and hash against the registry, then decrypt (erased → 410,
    tampered → nothing)."""
    with _store_refusals(grant):
        return gw.store.get_bundle(grant.record_id, expected_hash=grant.ciphertext_hash,
                                   blobs=gw.blobs, vet=stored_bundle_check(grant))


def labelled(gw: Gateway, grant: Grant, subject: str) -> bytes:
    """The plaintext labelled with the buyer's subject pseudonym. From the pieces an earlier read
    cut from the same registered ciphertext when there are some; while a read authenticated that
    ciphertext less than `LABEL_PARTS_RECHECK_S` ago, the store's row checks stand in for reading
    and decrypting it again (label_parts.py says why that serves the same bytes)."""
    try:
        parts = gw.label_parts.fresh(grant.record_id, grant.ciphertext_hash)
        if parts is not None:
            with _store_refusals(grant):
                gw.store.check_bundle_row(grant.record_id, expected_hash=grant.ciphertext_hash,
                                          vet=stored_bundle_check(grant))
            return pseudonyms.join_labelled(parts, subject)
        text = plaintext(gw, grant)
    except GatewayError:
        gw.label_parts.forget(grant.record_id)
        raise
    parts = gw.label_parts.get(grant.record_id, grant.ciphertext_hash)
    if parts is None:
        parts = pseudonyms.unlabelled_parts(text)
        gw.label_parts.put(grant.record_id, grant.ciphertext_hash, parts)
    else:
        gw.label_parts.checked(grant.record_id)
    return pseudonyms.join_labelled(parts, subject)


def sealed(gw: Gateway, grant: Grant) -> tuple[bytes, bytes]:
    """(sealed ciphertext, associated data), verified against the registry, not decrypted."""
    with _store_refusals(grant):
        return gw.store.sealed_bundle(grant.record_id, expected_hash=grant.ciphertext_hash,
                                      blobs=gw.blobs, vet=stored_bundle_check(grant))


def record_key(gw: Gateway, grant: Grant) -> tuple[bytes, bytes]:
    """(data key, associated data), after the integrity check a plaintext delivery does."""
    _, associated_data = sealed(gw, grant)
    with _store_refusals(grant):
        return gw.store.record_key(grant.record_id), associated_data


@contextmanager
def _store_refusals(grant: Grant) -> Iterator[None]:
    """The store's and the blob store's failures of one record as the buyer's answer: every
    delivery format refuses the same way."""
    try:
        yield
    except BlobNotFound:
        raise NotFound("the record's ciphertext is not in the blob store") from None
    except RecordErased:
        raise Gone("this record was erased: its key is destroyed and nobody can read it "
                   "again") from None
    except KeyMissing:
        raise _key_missing(grant) from None
    except RecordNotFound:
        raise NotFound("the registry names this record but the store does not hold it") from None
    except (TamperDetected, BlobTampered):
        log("tamper_detected", record=grant.record_id)
        raise Tampered("tampering detected: the stored ciphertext does not match the registry's "
                       "ciphertextHash; nothing is served") from None


def _key_missing(grant: Grant) -> Tampered:
    """The key is gone but nobody erased the record (the store alerted): not a 410."""
    log("record_key_missing", record=grant.record_id)
    return Tampered("the record's key is missing (not erased): nothing is served; the operator "
                    "was alerted", code="key_missing")


def confirm_first_delivery(gw: Gateway, grant: Grant) -> str | None:
    """Send confirmDelivery once per purchase; returns its tx hash (None if already delivered).
    Called after the record was verified and decrypted and before anything is sent: the patient
    is paid for exactly the deliveries that happen."""
    if grant.delivered:
        return None
    with _confirm_locks[grant.purchase_id % len(_confirm_locks)]:
        if int(gw.ledger.get_purchase(grant.purchase_id)["status"]) != PURCHASE_PAID:
            return None
        try:
            result = gw.ledger.confirm_delivery(grant.purchase_id)
        except ChainReverted as error:
            # e.g. the delivery window closed: the buyer may reclaim, so nothing is handed over.
            raise Conflict(f"delivery cannot be confirmed on-chain, nothing is served: "
                           f"{error.message}", code="delivery_not_confirmable") from None
    gw.metrics.chain_tx.labels("confirmDelivery").inc()
    log("delivery_confirmed", purchase=grant.purchase_id, tx=result.tx_hash)
    return result.tx_hash


RECORD_ACTIVE = RecordStatus.ACTIVE


def _active(record: dict) -> bool:
    return int(record["status"]) == RECORD_ACTIVE


def _refuse(gw: Gateway, code: str, message: str) -> Forbidden:
    gw.metrics.refusals.labels(code).inc()
    return Forbidden(message, code=code)
