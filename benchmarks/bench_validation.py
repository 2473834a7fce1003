"""A master's validation of queue messages, per message and per reading → benchmarks/validation.json.

What the all-in-one peer's validation workers do for every message they pull
(services/peers/master_validation.py `check_message`: JSON, schema, canonical form, the device's
Ed25519 signature, a keyed digest per reading), on signed 10-reading batches from the simulator
with device lookups cached as a master caches them; best of ROUNDS. Beside it, one Ed25519
verify of a message that size with libsodium (what validation uses) and with OpenSSL
(`cryptography`, what it used before 2026-12-06), so the choice stays measured
(docs/decisions/2026-12-06-device-signatures-libsodium.md). One core, no network.

Figures depend on the core: `machine_reference_ms` (benchmarks/machine_speed.py) says how fast
this one was.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from machine_speed import reference_ms

from services.ingest.device_directory import CachedDevices
from services.ingest.device_identity import verify
from services.ingest.settings import IngestSettings
from services.ingest.simulator import make_fleet, onboard, signed_messages
from services.peers.backends import records_settings
from services.peers.master_validation import check_message
from services.records import open_store
from services.runtime.gc_tuning import tune_for_throughput

OUT = Path(__file__).with_name("validation.json")
DEVICES = 1_000
SECONDS = 30
BATCH = 10  # readings a message, as the pipeline benchmark's wearables send them
ROUNDS = 3
VERIFIES = 2_000
DIGEST_KEY = b"bench-validation-digest-key-0000"


def full_batches(fleet, store) -> list[bytes]:
    """Signed messages of BATCH readings each (the first and last of a device may be short)."""
    start_ms = int(time.time() * 1000) - SECONDS * 1000
    messages = [m for _, due in signed_messages(fleet, SECONDS, start_ms, BATCH) for m in due]
    devices, settings, now_ms = CachedDevices(store), IngestSettings(), int(time.time() * 1000)
    return [m for m in messages
            if len(check_message(m, devices, settings, DIGEST_KEY, now_ms).readings) == BATCH]


def validation_us(messages: list[bytes], store) -> float:
    """Best round's µs a message through check_message."""
    devices, settings = CachedDevices(store), IngestSettings()
    best = float("inf")
    for _ in range(ROUNDS):
        now_ms = int(time.time() * 1000)
        started = time.perf_counter()
        for message in messages:
            check_message(message, devices, settings, DIGEST_KEY, now_ms)
        best = min(best, (time.perf_counter() - started) / len(messages))
    return best * 1e6


def verify_us(fleet) -> dict[str, float]:
    """µs one verify takes, libsodium (validation's own `verify`) and OpenSSL, on a message as
    long as a 10-reading batch."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = fleet[0].key
    message = b"x" * 700
    signature, public = key.sign(message), key.public_bytes
    openssl_key = Ed25519PublicKey.from_public_bytes(public)
    timings: dict[str, list[float]] = {"libsodium": [], "openssl": []}
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(VERIFIES):
            verify(public, signature, message)
        timings["libsodium"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(VERIFIES):
            openssl_key.verify(signature, message)
        timings["openssl"].append(time.perf_counter() - started)
    return {name: min(values) / VERIFIES * 1e6 for name, values in timings.items()}


def main() -> None:
    tune_for_throughput()  # as a peer runs: the collector's passes are not validation's cost
    machine_before = reference_ms()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(records_settings(Path(tmp)))
        fleet = make_fleet(DEVICES, irregular_fraction=0.1, seed="bench-validation")
        onboard(fleet, store)
        messages = full_batches(fleet, store)
        per_message = validation_us(messages, store)
        verifies = verify_us(fleet)
        store.close()
    figures = {
        "validation_messages_measured": len(messages),
        "validation_us_per_message": round(per_message, 1),
        "validation_us_per_reading": round(per_message / BATCH, 1),
        "ed25519_verify_libsodium_us": round(verifies["libsodium"], 1),
        "ed25519_verify_openssl_us": round(verifies["openssl"], 1),
        "ed25519_verify_share_of_message_percent": round(
            100 * verifies["libsodium"] / per_message, 1),
        "machine_reference_ms": round(statistics.mean([machine_before, reference_ms()]), 1),
    }
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
