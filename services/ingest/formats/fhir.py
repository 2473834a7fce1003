"""FHIR R4 heart-rate Observations (LOINC 8867-4), alone or in a Bundle, as readings.

One Observation becomes one reading:
- device: `Observation.device.identifier` with system PEER_ID_SYSTEM, value the device's peer id;
- heart rate: `valueQuantity` in UCUM per minute ("/min", as US Core's heart-rate profile asks,
  or the same unit written "1/min" or with an annotation, "{beats}/min");
- time: `effectiveDateTime` or `effectiveInstant` (with a zone, as FHIR requires of a time), or a
  short `effectivePeriod` (an average; the reading is put at its end); seq is that time in ms;
- beat-to-beat intervals: `component`s coded MDC_ECG_TIME_PD_RR_GL (ISO/IEEE 11073-10101 code
  147240) with a valueQuantity in UCUM "ms" (or "s"), in beat order; other components are
  read past;
- signal: `method.coding` in SIGNAL_SYSTEM (rr | hr_instantaneous | hr_averaged) if given, else
  "rr" with intervals and "hr_averaged" without (a rate whose beats are not known is judged as
  the least informative kind).
Anything else the resource holds is read past (and stays in what the device signed).
"""

from __future__ import annotations

import re

from services.ingest.formats.omh import MAX_AVERAGING_MS, MAX_INTERVAL_MS
from services.ingest.formats.problems import FormatProblem
from services.ingest.formats.timestamps import to_epoch_ms
from services.ingest.json_types import is_number

LOINC = "http://loinc.org"
HEART_RATE = "8867-4"
UCUM = "http://unitsofmeasure.org"
# UCUM codes a heart rate is written in, each with its factor to beats per minute. A UCUM
# annotation ({beats}, {beat}, {h.b.}) is a comment with no meaning of its own in UCUM,
# so any annotation before "/min" is the same unit; "1/min" is "/min" written out.
PER_MINUTE_PATTERN = re.compile(r"(?:1|\{[^{}]*\})?/min")
# An RR interval's UCUM codes, each with its factor to milliseconds.
INTERVAL_UNITS = {"ms": 1, "s": 1000}
MDC = "urn:iso:std:iso:11073:10101"
RR_INTERVAL = "147240"  # MDC_ECG_TIME_PD_RR_GL
PEER_ID_SYSTEM = "urn:pulseledger:peer-id"
SIGNAL_SYSTEM = "urn:pulseledger:signal"
RESULT_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})
BUNDLE_TYPES = frozenset({"collection", "batch", "transaction"})


def is_resource(value: object) -> bool:
    return isinstance(value, dict) and "resourceType" in value


def fhir_readings(value: object) -> list[dict]:
    kind = value.get("resourceType") if isinstance(value, dict) else None
    if kind == "Observation":
        return [_reading(value, "fhir: Observation")]
    if kind != "Bundle":
        raise FormatProblem("fhir: resourceType must be Observation or Bundle")
    if not _one_of(value.get("type"), BUNDLE_TYPES):
        raise FormatProblem(f"fhir: Bundle.type must be one of {', '.join(sorted(BUNDLE_TYPES))}")
    entries = value.get("entry")
    if not isinstance(entries, list) or not entries:
        raise FormatProblem("fhir: Bundle has no entry")
    readings = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            raise FormatProblem(f"fhir: Bundle.entry[{index}] does not hold an Observation")
        readings.append(_reading(resource, f"fhir: Bundle.entry[{index}]"))
    return readings


def _one_of(value: object, allowed: frozenset[str]) -> bool:
    return isinstance(value, str) and value in allowed  # a list or object is never hashed


def _codes(concept: object, system: str) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        return []
    return [c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == system]


def _quantity(holder: dict, where: str, factor_of, units: str) -> float:
    """The valueQuantity's value in our unit: `factor_of(UCUM code)` gives the factor to it,
    or None for a code that is not a unit of this kind (`units` names them for the error)."""
    quantity = holder.get("valueQuantity")
    code = quantity.get("code") if isinstance(quantity, dict) else None
    factor = factor_of(code) if isinstance(code, str) else None
    if factor is None or quantity.get("system") != UCUM or not is_number(quantity.get("value")):
        raise FormatProblem(f"{where}.valueQuantity must be a number in UCUM {units}")
    return quantity["value"] * factor  # an int stays an int (x 1), as it was signed


def _per_minute(code: str) -> int | None:
    return 1 if PER_MINUTE_PATTERN.fullmatch(code) else None


def _reading(observation: dict, where: str) -> dict:
    if not _one_of(observation.get("status"), RESULT_STATUSES):
        raise FormatProblem(f"{where}.status must be one of {', '.join(sorted(RESULT_STATUSES))}")
    if HEART_RATE not in _codes(observation.get("code"), LOINC):
        raise FormatProblem(f"{where}.code must include LOINC {HEART_RATE} (heart rate)")
    device = observation.get("device")
    identifier = device.get("identifier") if isinstance(device, dict) else None
    if not isinstance(identifier, dict) or identifier.get("system") != PEER_ID_SYSTEM \
            or not isinstance(identifier.get("value"), str):
        raise FormatProblem(f"{where}.device.identifier must name the device's peer id "
                            f"(system {PEER_ID_SYSTEM})")
    rate = _quantity(observation, where, _per_minute, "/min (or 1/min, {beats}/min)")
    ts_ms, averaged = _moment(observation, where)
    rr = _intervals(observation.get("component"), where)
    declared = _codes(observation.get("method"), SIGNAL_SYSTEM)
    if len(declared) > 1:
        raise FormatProblem(f"{where}.method declares more than one signal")
    signal = declared[0] if declared else ("rr" if rr else "hr_averaged")
    if averaged and signal != "hr_averaged":
        raise FormatProblem(f"{where}: an effectivePeriod is an average (signal hr_averaged)")
    body = {"userId": identifier["value"], "heartrate": rate, "ts_ms": ts_ms, "seq": ts_ms,
            "signal": signal}
    if rr:
        body["rr"] = rr
    return body


def _moment(observation: dict, where: str) -> tuple[int, bool]:
    """(the reading's time, whether it is the end of an averaging period)."""
    for field in ("effectiveDateTime", "effectiveInstant"):
        if field in observation:
            ts_ms = to_epoch_ms(observation[field], zone_required=True)
            if ts_ms is None:
                raise FormatProblem(f"{where}.{field} must be a date-time with seconds and a "
                                    "time zone")
            return ts_ms, False
    period = observation.get("effectivePeriod")
    if not isinstance(period, dict):
        raise FormatProblem(f"{where} needs effectiveDateTime, effectiveInstant or "
                            "effectivePeriod")
    start = to_epoch_ms(period.get("start"), zone_required=True)
    end = to_epoch_ms(period.get("end"), zone_required=True)
    if start is None or end is None or not 0 <= end - start <= MAX_AVERAGING_MS:
        raise FormatProblem(f"{where}.effectivePeriod needs start and end (with time zones) at "
                            f"most {MAX_AVERAGING_MS // 1000} s apart")
    return end, True


def _intervals(components: object, where: str) -> list[int]:
    if components is None:
        return []
    if not isinstance(components, list):
        raise FormatProblem(f"{where}.component must be a list")
    rr = []
    for index, component in enumerate(components):
        if not isinstance(component, dict) or RR_INTERVAL not in _codes(component.get("code"),
                                                                         MDC):
            continue
        interval = _quantity(component, f"{where}.component[{index}]", INTERVAL_UNITS.get,
                             "ms or s")
        if not 0 < interval < MAX_INTERVAL_MS:
            raise FormatProblem(f"{where}.component[{index}]: an RR interval must be between 0 "
                                f"and {MAX_INTERVAL_MS} ms")
        rr.append(round(interval))
    return rr
