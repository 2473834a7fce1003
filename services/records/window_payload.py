"""The window record format: what a storage peer writes as a window's payload and what the gateway
serves and the dapp draws. Defined once here so writers (storage peers, tests, fixtures, demos)
and readers cannot drift apart again (the dapp once read `readings[].bpm` while peers wrote
`heartrate`, so real windows drew an empty chart).

    {"device_id": str, "window_start_ms": int, "window_ms": int,
     "readings": [{"seq": int, "ts_ms": int, "heartrate": float, "rr": [float, ...]}, ...],
     "prediction": {"status": "regular" | "irregular" | "insufficient_data", ...}}

A reading keeps issue 5's field names (heartrate in bpm, ts_ms device time, seq, rr beat-to-beat
intervals in ms); its userId is the window's device_id. Readings lie inside
[window_start_ms, window_start_ms + window_ms), ordered by (ts_ms, seq), seq unique. The prediction
is `services.predict.Prediction` as a dict; only `status` is required (the alert rule reads it).

`python -m services.records.window_payload` prints a sample built here: the dapp's Vitest
fixture (frontend/test/fixtures/window-payload.json) is that output, checked by a test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

from services.records.base import InvalidInput

PAYLOAD_FIELDS = ("device_id", "window_start_ms", "window_ms", "readings", "prediction")
READING_FIELDS = ("seq", "ts_ms", "heartrate", "rr")
PREDICTION_STATUSES = ("regular", "irregular", "insufficient_data")


def reading(seq: int, ts_ms: int, heartrate: float, rr: Iterable[float] = ()) -> dict[str, Any]:
    """One reading of a window record (no userId: the window's device_id says whose)."""
    return {"seq": seq, "ts_ms": ts_ms, "heartrate": heartrate, "rr": list(rr)}


def build_window_payload(device_id: str, window_start_ms: int, window_ms: int,
                         readings: Sequence[Mapping[str, Any]],
                         prediction: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of one window record, validated (InvalidInput says what is wrong)."""
    payload = {
        "device_id": device_id, "window_start_ms": window_start_ms, "window_ms": window_ms,
        "readings": [reading(r["seq"], r["ts_ms"], r["heartrate"], r.get("rr") or ())
                     if (type(r) is dict or isinstance(r, Mapping)) and _NEEDED <= r.keys()
                     else r for r in readings],
        "prediction": dict(prediction) if isinstance(prediction, Mapping) else prediction,
    }
    return validate_window_payload(payload)


def validate_window_payload(payload: Any) -> dict[str, Any]:
    """Check a payload against the format; returns it unchanged, or raises InvalidInput."""
    if not isinstance(payload, dict):
        raise InvalidInput("window payload must be an object")
    if set(payload) != set(PAYLOAD_FIELDS):
        raise InvalidInput(f"window payload fields must be {', '.join(PAYLOAD_FIELDS)}; "
                           f"got {', '.join(sorted(map(str, payload)))}")
    if not isinstance(payload["device_id"], str) or not payload["device_id"]:
        raise InvalidInput("window payload: device_id must be a non-empty string")
    start, length = payload["window_start_ms"], payload["window_ms"]
    if not _is_int(start) or start < 0:
        raise InvalidInput("window payload: window_start_ms must be a non-negative integer")
    if not _is_int(length) or length <= 0:
        raise InvalidInput("window payload: window_ms must be a positive integer")
    readings = payload["readings"]
    if not isinstance(readings, list):
        raise InvalidInput("window payload: readings must be a list")
    seen: set[int] = set()
    previous: tuple[int, int] | None = None
    for index, r in enumerate(readings):
        _check_reading(r, index, start, length)
        if r["seq"] in seen:
            raise InvalidInput(f"window payload: readings[{index}].seq repeats")
        seen.add(r["seq"])
        order = (r["ts_ms"], r["seq"])
        if previous is not None and order < previous:
            raise InvalidInput("window payload: readings must be ordered by (ts_ms, seq)")
        previous = order
    prediction = payload["prediction"]
    if not isinstance(prediction, dict) or prediction.get("status") not in PREDICTION_STATUSES:
        raise InvalidInput("window payload: prediction must be an object whose status is one of "
                           + ", ".join(PREDICTION_STATUSES))
    return payload


def _check_reading(r: Any, index: int, start: int, length: int) -> None:
    # A storage peer checks ~10,000 readings a second: sets built once, messages only on error,
    # and the exact types a reading has checked first in one expression (bool is not int).
    if type(r) is dict and r.keys() == _READING_KEYS:
        seq, ts, hr, rr = r["seq"], r["ts_ms"], r["heartrate"], r["rr"]
        if (type(seq) is int and seq >= 0 and type(ts) is int and start <= ts < start + length
                and (type(hr) is float and math.isfinite(hr) or type(hr) is int)
                and type(rr) is list and all(map(_is_number, rr))):
            return
    if not isinstance(r, dict) or r.keys() != _READING_KEYS:
        raise InvalidInput(f"{_where(index)} must have exactly the fields "
                           f"{', '.join(READING_FIELDS)}")
    if not _is_int(r["seq"]) or r["seq"] < 0:
        raise InvalidInput(f"{_where(index)}.seq must be a non-negative integer")
    if not _is_int(r["ts_ms"]) or not start <= r["ts_ms"] < start + length:
        raise InvalidInput(f"{_where(index)}.ts_ms must be an integer inside the window")
    if not _is_number(r["heartrate"]):
        raise InvalidInput(f"{_where(index)}.heartrate must be a number (bpm)")
    if not isinstance(r["rr"], list) or not all(map(_is_number, r["rr"])):
        raise InvalidInput(f"{_where(index)}.rr must be a list of numbers (ms)")


_READING_KEYS = frozenset(READING_FIELDS)
_NEEDED = frozenset({"seq", "ts_ms", "heartrate"})  # rr may be left out: none


def _where(index: int) -> str:
    return f"window payload: readings[{index}]"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    kind = type(value)  # exact types first: a storage peer checks ~10,000 of these a second
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return True
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def sample_payload(index: int = 0, *, device_id: str = "12D3KooWSampleDevice",
                   window_start_ms: int = 1_700_000_000_000, window_ms: int = 10_000,
                   irregular: bool = False, status: str | None = None) -> dict[str, Any]:
    """A synthetic window (no real person's data) at 1 Hz, for tests, fixtures and demos; its
    prediction says `status` (default: irregular or regular, as the rhythm was made)."""
    base = 70 + (index % 3) * 4
    readings = []
    for second in range(window_ms // 1000):
        heartrate = float(base + ((second * 7 + index) % 9) - (12 if irregular and second % 2 else 0))
        beat_ms = round(60_000 / heartrate, 1)
        readings.append(reading(index * 1000 + second, window_start_ms + second * 1000, heartrate,
                                [beat_ms] * max(1, round(heartrate / 60))))
    status = status or ("irregular" if irregular else "regular")
    probability = {"irregular": 0.81, "regular": 0.07}.get(status)
    prediction = {"status": status, "probability": probability, "input_kind": "rr",
                  "threshold": 0.5}
    return build_window_payload(device_id, window_start_ms, window_ms, readings, prediction)


def dapp_fixture() -> dict[str, Any]:
    """The dapp's Vitest fixture: one regular and one irregular window built here."""
    return {"windows": [sample_payload(0, window_start_ms=1_700_000_000_000),
                        sample_payload(1, window_start_ms=1_700_000_010_000, irregular=True)]}


def main() -> None:
    print(json.dumps(dapp_fixture(), indent=2))


if __name__ == "__main__":
    main()
