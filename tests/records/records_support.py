"""Constants and raw-access helpers shared by the record store tests (unique module name: test
directories are not packages, so a generic name would collide with other suites)."""

from __future__ import annotations

import os

from services.records import ChainIdentity, RecordStore
from services.records.sqlite_store import SqliteRecordStore
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
    if isinstance(store, SqliteRecordStore):
        cols = ["owner", "version", "ciphertext", "proof", "key_ref"]
        row = store._conn.execute(
            f"SELECT {', '.join(cols)} FROM windows WHERE record_id = ?", (record_id,)
        ).fetchone()
        return dict(zip(cols, row, strict=True))
    return store._col("windows").document(record_id).get().to_dict()


def write_raw_window(store: RecordStore, record_id: str, **fields) -> None:
    """Change stored fields behind the store's back (what an attacker with disk access does)."""
    if isinstance(store, SqliteRecordStore):
        sets = ", ".join(f"{k} = ?" for k in fields)
        with store._lock:
            store._conn.execute(
                f"UPDATE windows SET {sets} WHERE record_id = ?", (*fields.values(), record_id)
            )
    else:
        store._col("windows").document(record_id).update(fields)


def flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)
