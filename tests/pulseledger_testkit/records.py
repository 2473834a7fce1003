"""A sellable bundle stored and registered the way production does it (services/chain/record_registry):
stored under the id the chain will derive from (patient, salt), then registered with fixed digests."""

from __future__ import annotations

from typing import Any

from web3.contract import Contract
from web3.contract.contract import ContractFunction

from services.chain.record_registry import (
    RecordRegistration,
    add_record_call,
    location_digest,
    new_salt,
    record_id,
)


def store_bundle_for_registration(store: Any, ledger: Contract, patient: str, data_class: int,
                                  plaintext: bytes, *, owner: str | None = None,
                                  blobs: Any | None = None) -> tuple[str, ContractFunction]:
    """(record id as 0x-hex, the addRecord call to send from the patient or their custodian).

    `owner` other than the patient stores a bundle the registry will not name (an integrity test).
    A bundle is one sealed blob: its content DAG is a single raw block whose root is its sha256."""
    salt = new_salt()
    record = "0x" + record_id(patient, salt).hex()
    bundle = store.put_bundle((owner or patient).lower(), record, data_class, plaintext, blobs=blobs)
    call = add_record_call(ledger, RecordRegistration(
        patient, salt, bundle.ciphertext_sha256, location_digest(bundle.pointer),
        bundle.ciphertext_sha256, data_class))
    return record, call
