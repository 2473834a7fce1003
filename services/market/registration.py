"""Every on-chain call the market's custodian makes, in one place, written against today's
RecordRegistry ABI (`addRecord(recordId, patient, dataClass, ciphertextHash, pointer)`).

The registry is being re-designed (ids bound to the patient by a salt, fixed-size digests instead
of the free-text pointer): re-point `register_bundle` and `registration_of` and nothing else
changes. The caller must be the patient or a custodian the patient authorised
(`authorizeCustodian`); the contract checks the sender, we only simulate first for a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from services.records import SellableRecord
from services.stack.wallet import send

RECORD_NONE, RECORD_ACTIVE = 0, 1


class RegistrationRefused(RuntimeError):
    """The registry would revert (not authorised, id taken...): nothing was sent."""


@dataclass(frozen=True)
class Registration:
    status: int  # RecordStatus: 0 none, 1 active, 2 retired
    ciphertext_hash: bytes


def registration_of(ledger: Contract, bundle_id: str) -> Registration:
    record = ledger.functions.getRecord(bytes.fromhex(bundle_id[2:])).call()
    # Record(patient, dataClass, version, status, ciphertextHash, pointer)
    return Registration(int(record[3]), bytes(record[4]))


def is_authorised(ledger: Contract, patient: str, custodian: str) -> bool:
    return bool(ledger.functions.isCustodianFor(patient, custodian).call())


def register_bundle(ledger: Contract, custodian, record: SellableRecord) -> str:
    """addRecord for a sealed bundle from `custodian` (a local account); returns the tx hash."""
    function = ledger.functions.addRecord(bytes.fromhex(record.bundle_id[2:]),
                                          ledger.w3.to_checksum_address(record.owner),
                                          record.data_class, record.ciphertext_sha256,
                                          record.pointer)
    try:
        function.call({"from": custodian.address})
    except (ContractCustomError, ContractLogicError) as error:
        raise RegistrationRefused(f"addRecord would revert: {error}") from None
    return send(ledger.w3, custodian, function)["transactionHash"].to_0x_hex()
