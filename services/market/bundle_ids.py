"""Record ids of sellable bundles: per (patient, data class, period, part), the same on every run.

`recordId = keccak256(abi.encode(patient, salt))` (services/chain/record_registry.py, as the
registry derives it) with `salt = keccak256(abi.encode(tag, dataClass, periodStartMs))` for a
period's first bundle (part 0) and `keccak256(abi.encode(tag, dataClass, periodStartMs, part))` for
the supplements that sell windows which arrived after it (parts 1, 2, ...): bound to the patient
and reproducible, so a custodian that restarts finds the bundles it made before instead of making
others. The salt is registered with the record (addRecord takes it).
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from services.chain.record_registry import record_id

SALT_TAG = b"pulseledger/bundle/v1".ljust(32, b"\0")
EXPORTS_CLASS = 2


def bundle_salt(data_class: int, period_start_ms: int, part: int = 0) -> bytes:
    if part == 0:  # the form bundles had before supplements existed: their ids stay the same
        return keccak(encode(["bytes32", "uint8", "uint64"],
                             [SALT_TAG, data_class, period_start_ms]))
    return keccak(encode(["bytes32", "uint8", "uint64", "uint32"],
                         [SALT_TAG, data_class, period_start_ms, part]))


def bundle_id(patient: str, data_class: int, period_start_ms: int, part: int = 0) -> str:
    return "0x" + record_id(patient, bundle_salt(data_class, period_start_ms, part)).hex()


def export_salt(from_ms: int, to_ms: int) -> bytes:
    """An export the patient asked for: its own salt over the period it covers."""
    return keccak(encode(["bytes32", "uint8", "uint64", "uint64"],
                         [SALT_TAG, EXPORTS_CLASS, from_ms, to_ms]))


def export_id(patient: str, from_ms: int, to_ms: int) -> str:
    return "0x" + record_id(patient, export_salt(from_ms, to_ms)).hex()
