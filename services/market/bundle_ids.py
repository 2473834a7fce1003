"""Record ids of sellable bundles: one per (patient, data class, period), the same on every run.

`recordId = keccak256(abi.encode(patient, salt))` with `salt = keccak256(abi.encode(tag, dataClass,
periodStartMs))`: bound to the patient (the registry being changed in parallel derives ids this way
from a salt) and reproducible, so a custodian that restarts finds the bundle it made before
instead of making another.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

SALT_TAG = b"pulseledger/bundle/v1".ljust(32, b"\0")


def bundle_salt(data_class: int, period_start_ms: int) -> bytes:
    return keccak(encode(["bytes32", "uint8", "uint64"], [SALT_TAG, data_class, period_start_ms]))


def bundle_id(patient: str, data_class: int, period_start_ms: int) -> str:
    salt = bundle_salt(data_class, period_start_ms)
    return "0x" + keccak(encode(["address", "bytes32"], [to_checksum_address(patient), salt])).hex()


def export_id(patient: str, from_ms: int, to_ms: int) -> str:
    """An export the patient asked for: its own salt over the period it covers."""
    salt = keccak(encode(["bytes32", "uint8", "uint64", "uint64"], [SALT_TAG, 2, from_ms, to_ms]))
    return "0x" + keccak(encode(["address", "bytes32"], [to_checksum_address(patient), salt])).hex()
