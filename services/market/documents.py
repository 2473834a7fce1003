"""What a buyer receives: a sellable bundle as FHIR R4 and CSV, made from decrypted window payloads.

Pure functions, no I/O. The document sealed into a bundle is one JSON object:

    {"format": "pulseledger-bundle-v1", "subject": "<pseudonym>", "data_class": "...",
     "period": {"start_ms", "end_ms"}, "part": 0, "fhir": <Bundle>,
     "csv": {"heart_rate"?: text, "screen"?: text},
     "windows": [{"record_id", "window_start_ms", "ciphertext_sha256", "batch_root", "proof"}]}

`part` is 0 for a period's first bundle, 1, 2, ... for supplements holding windows that arrived
after it (services/market/late_windows.py). `windows` are the inclusion proofs: each window the
bundle was made from, by the sha256 of its stored ciphertext, leads through `proof` to a batch
root anchored on-chain (`pulseledger verify`).

The subject is a pseudonym per purchase, never the device id, an address or a contact: sealed
bundles carry a marker that delivery replaces (services/market/pseudonyms.py). FHIR release R4
(4.0.1), validated with fhir.resources' R4B models (Observation is the R4 structure unchanged;
see services/gateway/fhir_export.py for why R4B).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from services.chain.enums import DataClass

FORMAT = "pulseledger-bundle-v1"
HEART_RATE_WINDOWS, PREDICTIONS_ALERTS, EXPORTS = (
    DataClass.HEART_RATE_WINDOWS, DataClass.PREDICTIONS_ALERTS, DataClass.EXPORTS)
CLASS_NAMES = {HEART_RATE_WINDOWS: "HEART_RATE_WINDOWS", PREDICTIONS_ALERTS: "PREDICTIONS_ALERTS",
               EXPORTS: "EXPORTS"}
SUBJECT_SYSTEM = "urn:pulseledger:pseudonym"
MODEL_SYSTEM = "urn:pulseledger:model-sha256"
SCREEN_SYSTEM = "urn:pulseledger:irregular-rhythm-screen"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                           "code": "vital-signs", "display": "Vital Signs"}]}
HEART_RATE = {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                          "display": "Heart rate"}]}
SCREEN = {"coding": [{"system": SCREEN_SYSTEM, "code": "irregular-rhythm-screen",
                      "display": "Irregular rhythm screen (a screen, not a diagnosis)"}]}
HEART_RATE_CSV = ("subject", "window_start", "reading_time", "seq", "heart_rate_per_min", "rr_ms")
SCREEN_CSV = ("subject", "window_start", "window_end", "status", "probability", "model_sha256")


@dataclass(frozen=True)
class SourceWindow:
    """One decrypted window and where its ciphertext is anchored."""

    record_id: str
    payload: dict[str, Any]  # services.records.window_payload format
    ciphertext_sha256: bytes
    batch_root: bytes
    proof: Sequence[bytes]


def build_document(data_class: int, subject: str, period: tuple[int, int],
                   windows: Sequence[SourceWindow], *, bundle_id: str,
                   part: int = 0) -> dict[str, Any]:
    """The bundle document for one data class and period (windows ordered by start)."""
    if data_class not in CLASS_NAMES:
        raise ValueError(f"unknown data class {data_class}")
    if not windows:
        raise ValueError("a bundle needs at least one window")
    ordered = sorted(windows, key=lambda w: w.payload["window_start_ms"])
    heart, screen = data_class in (HEART_RATE_WINDOWS, EXPORTS), data_class in (
        PREDICTIONS_ALERTS, EXPORTS)
    observations: list[Observation] = []
    tables: dict[str, str] = {}
    if heart:
        observations += [heart_rate_observation(subject, w) for w in ordered]
        tables["heart_rate"] = _csv(HEART_RATE_CSV,
                                    (row for w in ordered for row in _reading_rows(subject, w)))
    if screen:
        observations += [o for w in ordered if (o := screen_observation(subject, w)) is not None]
        tables["screen"] = _csv(SCREEN_CSV, (_screen_row(subject, w) for w in ordered))
    return {
        "format": FORMAT,
        "bundle_id": bundle_id,
        "subject": subject,
        "data_class": CLASS_NAMES[data_class],
        "period": {"start_ms": period[0], "end_ms": period[1]},
        "part": part,
        "fhir": fhir_bundle(bundle_id, observations),
        "csv": tables,
        "windows": [{"record_id": w.record_id, "window_start_ms": w.payload["window_start_ms"],
                     "ciphertext_sha256": "0x" + w.ciphertext_sha256.hex(),
                     "batch_root": "0x" + w.batch_root.hex(),
                     "proof": ["0x" + p.hex() for p in w.proof]} for w in ordered],
    }


def heart_rate_observation(subject: str, window: SourceWindow) -> Observation:
    """The window's mean heart rate (LOINC 8867-4, /min) over its effective period."""
    payload = window.payload
    rates = [r["heartrate"] for r in payload["readings"]]
    resource = _observation(subject, window, "hr", VITAL_SIGNS, HEART_RATE)
    if rates:
        resource["valueQuantity"] = {"value": round(statistics.fmean(rates), 2), "unit": "/min",
                                     "system": UCUM, "code": "/min"}
    else:
        resource["dataAbsentReason"] = {"text": "no readings in this window"}
    return Observation.model_validate(resource)


def screen_observation(subject: str, window: SourceWindow) -> Observation | None:
    """The screen's result for the window, naming the model (its sha256) that answered."""
    prediction = window.payload["prediction"]
    resource = _observation(subject, window, "screen", None, SCREEN)
    resource["valueCodeableConcept"] = {"coding": [{"system": SCREEN_SYSTEM,
                                                    "code": prediction["status"]}]}
    model = prediction.get("model_sha256")
    if model:
        resource["device"] = {"identifier": {"system": MODEL_SYSTEM, "value": model},
                              "display": "PulseLedger irregular-rhythm screening model (ONNX)"}
    if prediction.get("probability") is not None:
        resource["component"] = [{"code": {"text": "probability of irregular rhythm"},
                                  "valueQuantity": {"value": float(prediction["probability"]),
                                                    "unit": "1", "system": UCUM, "code": "1"}}]
    resource["note"] = [{"text": "A screen, not a diagnosis."}]
    return Observation.model_validate(resource)


def fhir_bundle(bundle_id: str, observations: Sequence[Observation]) -> dict[str, Any]:
    body = {"resourceType": "Bundle", "type": "collection",
            "identifier": {"system": "urn:pulseledger:record", "value": bundle_id},
            "entry": [{"fullUrl": f"urn:uuid:{_uuid_like(o.id)}",
                       "resource": o.model_dump(mode="json", exclude_none=True)}
                      for o in observations]}
    return Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)


def _observation(subject: str, window: SourceWindow, kind: str, category: dict | None,
                 code: dict) -> dict[str, Any]:
    payload = window.payload
    start = payload["window_start_ms"]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        # ids from the window's record id: unique per window, and they say nothing about anyone
        "id": f"{kind}-{window.record_id.removeprefix('0x')[:48]}",
        "status": "final",
        "code": code,
        "subject": {"identifier": {"system": SUBJECT_SYSTEM, "value": subject}},
        "effectivePeriod": {"start": _instant(start),
                            "end": _instant(start + payload["window_ms"])},
    }
    if category is not None:
        resource["category"] = [category]
    return resource


def _reading_rows(subject: str, window: SourceWindow):
    start = _instant(window.payload["window_start_ms"])
    for r in window.payload["readings"]:
        yield (subject, start, _instant(r["ts_ms"]), r["seq"], r["heartrate"],
               ";".join(f"{x:g}" for x in r.get("rr") or ()))


def _screen_row(subject: str, window: SourceWindow):
    p, start = window.payload["prediction"], window.payload["window_start_ms"]
    probability = p.get("probability")
    return (subject, _instant(start), _instant(start + window.payload["window_ms"]), p["status"],
            "" if probability is None else probability, p.get("model_sha256") or "")


def _csv(header: Sequence[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _uuid_like(text: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:pulseledger:{text}"))


def _instant(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
