"""Constants and raw-access helpers shared by the record store tests (unique module name: test
directories are not packages, so a generic name would collide with other suites)."""

from __future__ import annotations

import os

from services.records import ChainIdentity, RecordStore
from services.records.tables import Write
from services.records.window_payload import sample_payload

OWNER = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
DOCTOR = "0x" + "d0" * 20
DEVICE = "12D3KooWDeviceOne"
PROJECT = "pulseledger-test"


def fresh_chain() -> ChainIdentity:
    """A chain identity of its own per test: a fresh namespace, so tests never share state."""
    return ChainIdentity(31337, "0x" + os.urandom(32).hex(), {"PulseLedger": "0x" + "5e" * 20})


def window_payload(i: int = 0) -> dict:
    """A window in the record format (the store itself takes any JSON object)."""
    return sample_payload(i, device_id=DEVICE, window_start_ms=10_000 * i)


# ------------------------------------------------------------------ raw access, for tampering
def raw_window(store: RecordStore, record_id: str) -> dict:
    """The stored row as the backend keeps it (ciphertext, proof, key_ref, ...)."""
    return store.tables.get("windows", record_id)


def write_raw_window(store: RecordStore, record_id: str, **fields) -> None:
    """Change stored fields behind the store's back (what an attacker with disk or database
    access does): straight into the backend's table, past every check of the store."""
    store.tables.commit([Write("update", "windows", record_id, fields)])


def flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)
