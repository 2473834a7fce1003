"""One signed message of each format a device may post, for a registered device."""

from __future__ import annotations

import time

from services.ingest.device_identity import DeviceKey
from services.ingest.reading import Reading, sign_batch, sign_reading
from tests.ingest.format_examples import (
    envelope,
    fhir_bundle,
    fhir_observation,
    omh_heart_rate,
    omh_rr_interval,
)

FORMATS = ("reading", "batch", "omh", "fhir-observation", "fhir-bundle")


def now_ms() -> int:
    return int(time.time() * 1000)


def signed_message(fmt: str, key: DeviceKey, start_ms: int, count: int = 5) -> bytes:
    """`count` readings a second apart from start_ms (one for "reading" and an Observation)."""
    device = key.user_id
    times = [start_ms + i * 1000 for i in range(count)]
    if fmt == "reading":
        return sign_reading(key, Reading(device, 71.0, start_ms, 1, (845,), "rr"))
    if fmt == "batch":
        return sign_batch(key, [Reading(device, 70.0 + i, t, i + 1, (850, 860), "rr")
                                for i, t in enumerate(times)])
    if fmt == "omh":
        return envelope("omh", [omh_heart_rate(device, t, 60 + i) if i % 2 else
                                omh_rr_interval(device, t, 800 + i) for i, t in enumerate(times)],
                        key)
    if fmt == "fhir-observation":
        return envelope("fhir", fhir_observation(device, start_ms, 66, rr=(900, 910)), key)
    return envelope("fhir", fhir_bundle([fhir_observation(device, t, 64 + i, rr=(930 - i,))
                                         for i, t in enumerate(times)], "batch"), key)


def expected_count(fmt: str, count: int = 5) -> int:
    return 1 if fmt in ("reading", "fhir-observation") else count
