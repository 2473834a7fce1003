"""The demo's people, derived from one seed so a restart speaks for the same patients, devices,
doctor and requester (and the wearable simulator's device keys match what was onboarded).

Addresses on the reserved `.invalid` domain: demo mail can never reach anyone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from services.ingest.device_identity import DeviceKey


def _digest(seed: str, label: str) -> bytes:
    return hashlib.sha256(f"{seed}/{label}".encode()).digest()


def device(seed: str, index: int) -> DeviceKey:
    """Same derivation as the wearable simulator's `make_fleet` (sha256 of seed/device/i): the
    demo holds its wearables' keys, so it can show their pairing codes as a device would."""
    return DeviceKey.from_seed(_digest(seed, f"device/{index}"))


def device_public_key(seed: str, index: int) -> bytes:
    return device(seed, index).public_bytes


@dataclass(frozen=True)
class DemoPatient:
    index: int
    account: LocalAccount
    device: DeviceKey
    email: str

    @property
    def device_key(self) -> bytes:
        return self.device.public_bytes


def patients(seed: str, count: int) -> list[DemoPatient]:
    return [DemoPatient(i, Account.from_key(_digest(seed, f"patient-key/{i}")),
                        device(seed, i), f"patient{i}@demo.pulseledger.invalid")
            for i in range(count)]


def doctor(seed: str) -> tuple[LocalAccount, str]:
    return Account.from_key(_digest(seed, "doctor-key")), "doctor@demo.pulseledger.invalid"
