"""The JSON both sides of a remote predictor speak (SageMaker endpoint request and response).

Request:  {"format": "pulseledger.predict/v3",
           "windows": [{user_id, start_ms, heart_rates, rr_ms, signal
                        [, context_heart_rates, context_rr_ms]}]}
Response: {"format": "pulseledger.predict/v3", "predictions": [{...Prediction fields...}]}
Missing or non-numeric readings travel as sent (NaN as the JSON token NaN, which Python's json
reads and writes), so the endpoint answers them with insufficient_data like the local model does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields

from services.predict.base import Prediction, Window

# v2: windows carry `signal`; v3: and their context (an endpoint still on v2 would judge them
# without it, so it refuses v3 instead)
FORMAT = "pulseledger.predict/v3"
_PREDICTION_FIELDS = {f.name for f in fields(Prediction)}


class WireFormatError(ValueError):
    """A request or response that does not follow the wire format."""


def encode_request(windows: Sequence[Window]) -> bytes:
    payload = {"format": FORMAT, "windows": [_window(w) for w in windows]}
    return json.dumps(payload).encode()


def _window(w: Window) -> dict:
    out = {
        "user_id": w.user_id,
        "start_ms": w.start_ms,
        "heart_rates": list(w.heart_rates),
        "rr_ms": None if w.rr_ms is None else list(w.rr_ms),
        "signal": w.signal,
    }
    if w.context_heart_rates is not None:
        out["context_heart_rates"] = list(w.context_heart_rates)
    if w.context_rr_ms is not None:
        out["context_rr_ms"] = list(w.context_rr_ms)
    return out


def decode_request(body: bytes) -> list[Window]:
    payload = _load(body)
    try:
        return [
            Window(
                str(w["user_id"]),
                int(w["start_ms"]),
                w["heart_rates"],
                w.get("rr_ms"),
                w.get("signal"),
                w.get("context_heart_rates"),
                w.get("context_rr_ms"),
            )
            for w in payload["windows"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise WireFormatError(f"bad window in request: {error!r}") from error


def encode_response(predictions: Sequence[Prediction]) -> bytes:
    return json.dumps({"format": FORMAT, "predictions": [asdict(p) for p in predictions]}).encode()


def decode_response(body: bytes) -> list[Prediction]:
    payload = _load(body)
    try:
        items = payload["predictions"]
        if any(set(item) - _PREDICTION_FIELDS for item in items):
            raise WireFormatError("unknown prediction fields in response")
        predictions = [Prediction(**item) for item in items]
    except (KeyError, TypeError) as error:
        raise WireFormatError(f"bad prediction in response: {error!r}") from error
    for prediction in predictions:
        _check(prediction)
    return predictions


def _check(p: Prediction) -> None:
    """A reply's predictions must be internally consistent before anyone acts on them."""
    if p.status == "insufficient_data":
        ok = p.probability is None and p.input_kind is None and bool(p.reason)
    else:
        ok = (
            p.status in ("regular", "irregular")
            and p.input_kind in ("rr", "hr")
            and isinstance(p.probability, float)
            and 0.0 <= p.probability <= 1.0
        )
    ok = ok and p.input_hash in ("sha256", "hmac-sha256")
    if not ok:
        raise WireFormatError(f"inconsistent prediction in response (status {p.status!r})")


def _load(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireFormatError(f"not JSON: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WireFormatError(f"expected a JSON object with format {FORMAT!r}")
    return payload
