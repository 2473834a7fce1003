"""The one place that knows how a record is registered on-chain and what its id is.

A record id is `keccak256(abi.encode(patient, salt))`, computed by the contract from the patient it
names and a salt the writer chooses: an id is bound to its patient by construction, so a copied
pending `addRecord` registers nothing for the copier (docs/decisions/2026-12-02-record-ownership.md).
Store the ciphertext under `record_id(patient, salt)` first, then register it with `add_record_call`.

What goes on-chain is fixed-size digests only (docs/privacy.md): the location of the ciphertext is
kept off-chain and only its keccak256 (`location_digest`) is registered.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache

from eth_abi import encode
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction


def new_salt() -> bytes:
    """A fresh random salt: the id then reveals nothing and a patient can hold any number of records."""
    return secrets.token_bytes(32)


def record_id(patient: str, salt: bytes) -> bytes:
    """What the contract's `recordIdOf(patient, salt)` returns."""
    return Web3.keccak(encode(["address", "bytes32"], [Web3.to_checksum_address(patient), _b32(salt)]))


@lru_cache(maxsize=4096)  # a pure function asked on every buyer read; keccak costs ~10 µs here
def location_digest(location: str) -> bytes:
    """keccak256 of the ciphertext's location (a store path or `ipfs://` CID) as UTF-8."""
    return Web3.keccak(text=location)


@dataclass(frozen=True)
class RecordRegistration:
    """Everything `addRecord` takes; `record_id` is what it will return."""

    patient: str
    salt: bytes
    ciphertext_hash: bytes
    location_digest: bytes
    dag_root: bytes
    data_class: int

    @property
    def record_id(self) -> bytes:
        return record_id(self.patient, self.salt)


def add_record_call(ledger: Contract, registration: RecordRegistration) -> ContractFunction:
    """The `addRecord` call for `registration`; send it from the patient or their custodian."""
    r = registration
    return ledger.functions.addRecord(Web3.to_checksum_address(r.patient), _b32(r.salt), r.data_class,
                                      _b32(r.ciphertext_hash), _b32(r.location_digest), _b32(r.dag_root))


def update_record_call(ledger: Contract, record: bytes, ciphertext_hash: bytes, location: str,
                       dag_root: bytes) -> ContractFunction:
    """The `updateRecord` call: a new version of the ciphertext of an active record."""
    return ledger.functions.updateRecord(_b32(record), _b32(ciphertext_hash),
                                         location_digest(location), _b32(dag_root))


def _b32(value: bytes) -> bytes:
    value = bytes(value)
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return value
