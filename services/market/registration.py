"""Every on-chain call the market's custodian makes, in one place, through the registry's one
home (services/chain/record_registry.py): `addRecord(patient, salt, dataClass, ciphertextHash,
locationDigest, dagRoot)`, the record id being keccak256(patient, salt), so the bundle must have
been stored under that id. A bundle is one sealed blob: its content DAG is a single raw block whose
root is its hash. The caller must be the patient or a custodian the patient authorised
(`authorizeCustodian`); the contract checks the sender, we only simulate first for a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from services.chain.enums import RecordStatus
from services.chain.record_registry import (
    RecordRegistration,
    add_record_call,
    location_digest,
    record_id,
)
from services.records import SellableRecord
from services.stack.wallet import send

RECORD_NONE, RECORD_ACTIVE = RecordStatus.NONE, RecordStatus.ACTIVE


class RegistrationRefused(RuntimeError):
    """The registry would revert (not authorised, id taken...): nothing was sent."""


@dataclass(frozen=True)
class Registration:
    status: int  # RecordStatus: 0 none, 1 active, 2 retired
    ciphertext_hash: bytes


def registration_of(ledger: Contract, bundle_id: str) -> Registration:
    record = ledger.functions.getRecord(bytes.fromhex(bundle_id[2:])).call()
    # Record(patient, dataClass, version, status, ciphertextHash, locationDigest, dagRoot)
    return Registration(int(record[3]), bytes(record[4]))


def is_authorised(ledger: Contract, patient: str, custodian: str) -> bool:
    return bool(ledger.functions.isCustodianFor(patient, custodian).call())


def register_bundle(ledger: Contract, custodian, record: SellableRecord, salt: bytes) -> str:
    """addRecord for a sealed bundle from `custodian` (a local account, or the patient); returns
    the tx hash. `salt` is the one the bundle's id was derived with."""
    if "0x" + record_id(record.owner, salt).hex() != record.bundle_id:
        raise RegistrationRefused("the bundle was not stored under keccak256(patient, salt)")
    function = add_record_call(ledger, RecordRegistration(
        record.owner, salt, record.ciphertext_sha256, location_digest(record.pointer),
        record.ciphertext_sha256, record.data_class))
    try:
        function.call({"from": custodian.address})
    except (ContractCustomError, ContractLogicError) as error:
        raise RegistrationRefused(f"addRecord would revert: {error}") from None
    return send(ledger.w3, custodian, function)["transactionHash"].to_0x_hex()
