"""What the endpoint answers, as (status, JSON body, headers): one place for every status code
and error name a device maker reads about in docs/devices.md."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

# A refusal reason from validation (its prefix) -> (HTTP status, error name, hint for the maker).
_REFUSALS = [
    ("unsigned", 401, "unsigned", "the message has no sig member"),
    ("signature", 401, "bad_signature",
     ("sig is not the Ed25519 signature of the canonical (RFC 8785) form of the signed member by "
     "the key registered for the device the readings name")),
    ("unknown device", 403, "unknown_device",
     "no device with this peer id is registered: pair it with its patient first"),
    ("malformed", 400, "malformed", "the body is not a message this endpoint reads"),
]
_INVALID = (422, "invalid", "the readings were read but refused; see reason")
AUTH_CHALLENGE = {"WWW-Authenticate": 'PulseLedger-Device-Signature realm="devices"'}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def refusal(reason: str, rejected: list[dict] | None = None) -> Answer:
    """The answer to a message of which no reading was accepted, for its (first) reason."""
    status, error, hint = next(((s, e, h) for prefix, s, e, h in _REFUSALS
                                if reason.startswith(prefix)), _INVALID)
    body = {"error": error, "reason": reason, "message": hint}
    if rejected:
        body["rejected"] = rejected
    return Answer(status, body, AUTH_CHALLENGE if status == 401 else {})


def accepted(count: int, rejected: list[dict]) -> Answer:
    return Answer(202, {"accepted": count, "rejected": rejected})


def slow_down(error: str, message: str, wait_s: float) -> Answer:
    seconds = retry_after(wait_s)
    return Answer(429, {"error": error, "message": message, "retry_after_s": seconds},
                  {"Retry-After": str(seconds)})


def unavailable(message: str, wait_s: float = 5) -> Answer:
    seconds = retry_after(wait_s)
    return Answer(503, {"error": "unavailable", "message": message, "retry_after_s": seconds},
                  {"Retry-After": str(seconds)})


def rejected_reading(payload: bytes, reason: str) -> dict:
    """One refused reading of an otherwise readable message: its seq and time, and why."""
    try:
        body = json.loads(payload)
        return {"seq": body.get("seq"), "ts_ms": body.get("ts_ms"), "reason": reason}
    except (ValueError, AttributeError):
        return {"reason": reason}


def retry_after(wait_s: float) -> int:
    """Whole seconds for a Retry-After header: never 0 (a client would come straight back)."""
    return max(1, math.ceil(wait_s)) if math.isfinite(wait_s) else 3600
