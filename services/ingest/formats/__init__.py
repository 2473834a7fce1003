"""What a device may sign, and the readings each signed value holds.

A device signs one JSON value (RFC 8785 canonical form) and sends it beside its signature in an
envelope whose one other member names the format:
  reading  a reading {"userId", "heartrate", "ts_ms", "seq", "rr"?, "signal"} (reading.py)
  batch    a list of readings of one device
  omh      an Open mHealth data point, or a list of them (omh.py)
  fhir     a FHIR R4 heart-rate Observation, or a Bundle of them (fhir.py)
Every format is read into the same internal reading bodies, which validation then judges the
same way (schema, device, signature, ranges, timestamps, seq repeats, signal).

The signed value also says its own format (`signed_format`): FHIR resources carry resourceType,
Open mHealth data points a header and a body, readings neither. So whoever holds only what a
device signed — a storage peer checking a window against its evidence — reads the same readings
out of it with `readings_in_signed`, without the envelope.
"""

from __future__ import annotations

from services.ingest.formats.fhir import fhir_readings, is_resource
from services.ingest.formats.omh import is_data_point, omh_readings
from services.ingest.formats.problems import FormatProblem

# envelope member -> the format of the value it holds
ENVELOPE_FORMATS = {"reading": "readings", "batch": "readings", "omh": "omh", "fhir": "fhir"}


def signed_format(value: object) -> str:
    """"fhir", "omh" or "readings": what kind of signed value this is."""
    if is_resource(value):
        return "fhir"
    if is_data_point(value) or (isinstance(value, list) and value
                                and all(is_data_point(v) for v in value)):
        return "omh"
    return "readings"


def readings_in_signed(value: object) -> list[object]:
    """The reading bodies a signed value holds, in the internal format (not yet judged: the
    caller checks their schema). Raises FormatProblem when a FHIR or Open mHealth value cannot
    be read as readings."""
    fmt = signed_format(value)
    if fmt == "fhir":
        return fhir_readings(value)
    if fmt == "omh":
        return omh_readings(value)
    return list(value) if isinstance(value, list) else [value]


__all__ = ["ENVELOPE_FORMATS", "FormatProblem", "readings_in_signed", "signed_format"]
