"""The demo's people, derived from one seed so a restart speaks for the same patients, devices,
doctor and requester (and the wearable simulator's device keys match what was onboarded).

Addresses on the reserved `.invalid` domain: demo mail can never reach anyone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.signers.local import LocalAccount


def _digest(seed: str, label: str) -> bytes:
    return hashlib.sha256(f"{seed}/{label}".encode()).digest()


def device_public_key(seed: str, index: int) -> bytes:
    """Same derivation as the wearable simulator's `make_fleet` (sha256 of seed/device/i)."""
    private = Ed25519PrivateKey.from_private_bytes(_digest(seed, f"device/{index}"))
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class DemoPatient:
    index: int
    account: LocalAccount
    device_key: bytes
    email: str


def patients(seed: str, count: int) -> list[DemoPatient]:
    return [DemoPatient(i, Account.from_key(_digest(seed, f"patient-key/{i}")),
                        device_public_key(seed, i), f"patient{i}@demo.pulseledger.invalid")
            for i in range(count)]


def doctor(seed: str) -> tuple[LocalAccount, str]:
    return Account.from_key(_digest(seed, "doctor-key")), "doctor@demo.pulseledger.invalid"
