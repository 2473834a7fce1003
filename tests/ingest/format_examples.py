"""Open mHealth and FHIR heart-rate documents as devices send them, and their signed envelopes,
for the format, validation and endpoint tests (the doc's own client does not use these)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.ingest.device_identity import DeviceKey
from services.ingest.reading import b64, canonical

UCUM = "http://unitsofmeasure.org"


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def omh_heart_rate(device: str, ts_ms: int, bpm: float = 72, version: str = "2.0",
                   **body_fields) -> dict:
    body = {"heart_rate": {"value": bpm, "unit": "beats/min"},
            "effective_time_frame": {"date_time": iso(ts_ms)}, **body_fields}
    return {"header": {"id": f"hr-{ts_ms}", "creation_date_time": iso(ts_ms),
                       "schema_id": {"namespace": "omh", "name": "heart-rate", "version": version},
                       "user_id": device,
                       "acquisition_provenance": {"source_name": "test band", "modality": "sensed"}},
            "body": body}


def omh_rr_interval(device: str, ts_ms: int, interval_ms: float = 830) -> dict:
    return {"header": {"id": f"rr-{ts_ms}", "creation_date_time": iso(ts_ms),
                       "schema_id": {"namespace": "omh", "name": "rr-interval", "version": "1.0"},
                       "user_id": device},
            "body": {"rr_interval": {"value": interval_ms, "unit": "ms"},
                     "effective_time_frame": {"date_time": iso(ts_ms)}}}


def fhir_observation(device: str, ts_ms: int, bpm: float = 72, rr=(), signal: str | None = None,
                     **fields) -> dict:
    observation = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                             "display": "Heart rate"}]},
        "device": {"identifier": {"system": "urn:pulseledger:peer-id", "value": device}},
        "effectiveDateTime": iso(ts_ms),
        "valueQuantity": {"value": bpm, "unit": "beats/minute", "system": UCUM, "code": "/min"},
    }
    if rr:
        observation["component"] = [
            {"code": {"coding": [{"system": "urn:iso:std:iso:11073:10101", "code": "147240",
                                  "display": "MDC_ECG_TIME_PD_RR_GL"}]},
             "valueQuantity": {"value": x, "unit": "ms", "system": UCUM, "code": "ms"}}
            for x in rr]
    if signal is not None:
        observation["method"] = {"coding": [{"system": "urn:pulseledger:signal",
                                             "code": signal}]}
    observation.update(fields)
    return observation


def fhir_bundle(observations: list[dict], kind: str = "collection") -> dict:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"resource": o} for o in observations]}


def envelope(member: str, value: object, key: DeviceKey) -> bytes:
    """The signed message: the value under its format's member, signed over its canonical form."""
    return json.dumps({member: value, "sig": b64(key.sign(canonical(value)))}).encode()
