"""The reading schema, its RFC 8785 canonical form, and the signed envelopes devices send.

A queue message is one JSON object, either
  {"reading": {...}, "sig": "<base64url Ed25519 signature over canonical(reading)>"}
or, batch-signed (one signature for many readings of one device),
  {"batch": [{...}, ...], "sig": "<base64url signature over canonical(batch list)>"}.
A reading is {"userId": str, "heartrate": number, "ts_ms": int, "seq": int, "rr"?: [int, ...]}.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import rfc8785

from services.ingest.device_identity import DeviceKey

READING_FIELDS = {"userId", "heartrate", "ts_ms", "seq", "rr"}
REQUIRED_FIELDS = {"userId", "heartrate", "ts_ms", "seq"}


@dataclass(frozen=True)
class Reading:
    user_id: str
    heartrate: float
    ts_ms: int
    seq: int
    rr: tuple[int, ...] = ()

    def to_json(self) -> dict:
        body = {"userId": self.user_id, "heartrate": self.heartrate, "ts_ms": self.ts_ms,
                "seq": self.seq}
        if self.rr:
            body["rr"] = list(self.rr)
        return body

    @classmethod
    def from_json(cls, body: dict) -> Reading:
        return cls(body["userId"], body["heartrate"], body["ts_ms"], body["seq"],
                   tuple(body.get("rr") or ()))


def canonical(value: object) -> bytes:
    return rfc8785.dumps(value)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_reading(key: DeviceKey, reading: Reading) -> bytes:
    body = reading.to_json()
    return json.dumps({"reading": body, "sig": b64(key.sign(canonical(body)))}).encode()


def sign_batch(key: DeviceKey, readings: list[Reading]) -> bytes:
    bodies = [r.to_json() for r in readings]
    return json.dumps({"batch": bodies, "sig": b64(key.sign(canonical(bodies)))}).encode()
