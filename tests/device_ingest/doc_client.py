"""A device written from docs/devices.md alone, as a device maker would write it: its own key and
peer id, the canonical form from the `rfc8785` package, Ed25519 from `cryptography`, plain HTTP
with `requests`. It imports nothing of PulseLedger's: if the doc is wrong, this client fails."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
UCUM = "http://unitsofmeasure.org"


def base58btc(raw: bytes) -> str:
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = BASE58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


@dataclass
class Device:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def peer_id(self) -> str:
        return base58btc(bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]) + self.public_key)

    def message(self, member: str, value) -> dict:
        """Signing, step by step: canonical form of the value, Ed25519, base64url unpadded."""
        signature = self.key.sign(rfc8785.dumps(value))
        return {member: value, "sig": base64.urlsafe_b64encode(signature).rstrip(b"=").decode()}

    # -- the formats, as the doc's tables and examples show them --------------------------------
    def batch(self, readings: list[tuple[int, int, float, list[int]]]) -> dict:
        """(seq, ts_ms, heart rate, intervals): signal rr with intervals, else hr_averaged."""
        return self.message("batch", [
            {"userId": self.peer_id, "heartrate": hr, "ts_ms": ts, "seq": seq,
             **({"signal": "rr", "rr": rr} if rr else {"signal": "hr_averaged"})}
            for seq, ts, hr, rr in readings])

    def omh(self, beats: list[tuple[int, float]], averages: list[tuple[int, int, float]]) -> dict:
        """beats: (time ms, interval ms); averages: (start ms, end ms, heart rate)."""
        def header(name, version, at):
            return {"id": f"{name}-{at}", "creation_date_time": iso(at), "user_id": self.peer_id,
                    "schema_id": {"namespace": "omh", "name": name, "version": version}}
        points = [{"header": header("rr-interval", "1.0", at),
                   "body": {"rr_interval": {"value": interval, "unit": "ms"},
                            "effective_time_frame": {"date_time": iso(at)}}}
                  for at, interval in beats]
        points += [{"header": header("heart-rate", "2.0", end),
                    "body": {"heart_rate": {"value": rate, "unit": "beats/min"},
                             "effective_time_frame": {"time_interval": {
                                 "start_date_time": iso(start), "end_date_time": iso(end)}},
                             "descriptive_statistic": "average"}}
                   for start, end, rate in averages]
        return self.message("omh", points)

    def observation(self, at: int, rate: float, intervals: list[int] = (),
                    signal: str | None = None) -> dict:
        observation = {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "device": {"identifier": {"system": "urn:pulseledger:peer-id",
                                      "value": self.peer_id}},
            "effectiveDateTime": iso(at),
            "valueQuantity": {"value": rate, "unit": "beats/minute", "system": UCUM,
                              "code": "/min"},
        }
        if intervals:
            observation["component"] = [
                {"code": {"coding": [{"system": "urn:iso:std:iso:11073:10101",
                                      "code": "147240"}]},
                 "valueQuantity": {"value": x, "unit": "ms", "system": UCUM, "code": "ms"}}
                for x in intervals]
        if signal:
            observation["method"] = {"coding": [{"system": "urn:pulseledger:signal",
                                                 "code": signal}]}
        return observation

    def fhir(self, observations: list[dict]) -> dict:
        if len(observations) == 1:
            return self.message("fhir", observations[0])
        return self.message("fhir", {"resourceType": "Bundle", "type": "batch",
                                     "entry": [{"resource": o} for o in observations]})


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


@dataclass
class Endpoint:
    base: str
    headers: dict = field(default_factory=dict)
    max_attempts: int = 5
    attempts: int = 0

    def post(self, message: dict) -> requests.Response:
        """Send; on 429 or 503 wait Retry-After and send the same message again."""
        for _ in range(self.max_attempts):
            self.attempts += 1
            answer = requests.post(f"{self.base}/v1/readings", json=message,
                                   headers=self.headers, timeout=30)
            if answer.status_code not in (429, 503):
                return answer
            time.sleep(int(answer.headers["Retry-After"]))
        return answer
