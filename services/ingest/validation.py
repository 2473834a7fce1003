"""Validation of one queue message: envelope, schema, ranges, signature, known device, timestamps.

The one judgement of a device's message, called by the masters on what they pull from the queue
and by the device endpoint (services/device_ingest) before it queues anything: a message refused
at the door would be refused the same way behind it. Every format a device may sign
(services/ingest/formats) is read into the same reading bodies first, then judged the same way.

Never raises: anything wrong becomes a `Reject` with a reason, destined for the dead-letter store.
Replays (a seq seen before with other content) are judged by the user's aggregator, the only place
that sees all of a user's readings; within one message a repeated seq is rejected here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from services.ingest.device_identity import peer_id_for, verify
from services.ingest.formats import (
    ENVELOPE_FORMATS,
    FormatProblem,
    readings_in_signed,
    signed_format,
)
from services.ingest.json_types import is_int, is_number
from services.ingest.reading import (
    HR_ONLY_SIGNALS,
    READING_FIELDS,
    REQUIRED_FIELDS,
    SIGNALS,
    Reading,
    canonical,
    unb64,
)
from services.ingest.settings import IngestSettings
from services.runtime import document_json

MAX_SEQ = 2**63 - 1
# A libp2p Ed25519 peer id in base58btc ("12D3KooW..." is 52 characters).
_PEER_ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{40,60}$")


class DeviceDirectory(Protocol):
    """What validation needs from the record store: the registered device, or None."""

    def get_device(self, device_id: str): ...


@dataclass(frozen=True)
class Reject:
    payload: bytes
    reason: str


@dataclass
class Verdict:
    # The device whose signature checked out ("" until then): an authenticated identity, which
    # the device endpoint keys its per-device budget on.
    device: str = ""
    valid: list[Reading] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def public_key_bytes(device) -> bytes:
    key = device.public_key
    return bytes.fromhex(key.removeprefix("0x")) if isinstance(key, str) else bytes(key)


def schema_problem(body: object) -> str | None:
    if not isinstance(body, dict):
        return "schema: reading is not an object"
    keys = body.keys()
    if not REQUIRED_FIELDS <= keys <= READING_FIELDS:  # the usual case without building sets
        missing = REQUIRED_FIELDS - keys
        if missing:
            return f"schema: missing {sorted(missing)}"
        return f"schema: unknown fields {sorted(keys - READING_FIELDS)}"
    if not isinstance(body["userId"], str) or not _PEER_ID.match(body["userId"]):
        return "schema: userId must be a libp2p peer id"
    if not is_number(body["heartrate"]):
        return "schema: heartrate must be a number"
    if not is_int(body["ts_ms"]) or not is_int(body["seq"]):
        return "schema: ts_ms and seq must be integers"
    rr = body.get("rr")
    # exact type int (JSON gives no other; bool is not one), checked in one C pass per reading
    if rr is not None and (not isinstance(rr, list) or not set(map(type, rr)) <= {int}):
        return "schema: rr must be a list of integers"
    if body["signal"] not in SIGNALS:
        return "schema: signal must be one of " + ", ".join(SIGNALS)
    if rr and body["signal"] in HR_ONLY_SIGNALS:
        return "schema: rr given by a device that declares a heart-rate-only signal"
    return None


def range_problem(body: dict, settings: IngestSettings, now_ms: int) -> str | None:
    if not settings.heartrate_min <= body["heartrate"] <= settings.heartrate_max:
        return "range: heartrate"
    if not 0 <= body["seq"] <= MAX_SEQ:
        return "range: seq"
    rr = body.get("rr") or []
    # min/max, not a per-interval generator: this runs for every reading (ints, schema-checked)
    if rr and (len(rr) > settings.rr_max_count or min(rr) < settings.rr_min_ms
               or max(rr) > settings.rr_max_ms):
        return "range: rr"
    if body["ts_ms"] > now_ms + settings.max_future_skew_ms:
        return "timestamp: in the future"
    if body["ts_ms"] < now_ms - settings.max_age_ms:
        return "timestamp: too old"
    return None


def _envelope(raw: bytes) -> tuple[list, object, bytes] | str:
    """(reading bodies, signed value, signature) or a reason."""
    try:  # msgspec's parser, the standard library's for what it will not take: the same values
        message = document_json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "malformed: not JSON"
    if not isinstance(message, dict):
        return "malformed: not an object"
    if "sig" not in message:
        return "unsigned"
    try:
        signature = unb64(message["sig"])
    except Exception:  # noqa: BLE001
        return "signature: not base64url"
    members = set(message) - {"sig"}
    member = members.pop() if len(members) == 1 else None
    if member not in ENVELOPE_FORMATS:
        return "malformed: expected {sig} and one of " + ", ".join(ENVELOPE_FORMATS)
    value = message[member]
    # What was signed must say the same format as the envelope, so a signature can never be
    # read back (downstream, from the signed value alone) as readings of another format.
    if signed_format(value) != ENVELOPE_FORMATS[member]:
        return f"malformed: the {member} member does not hold {ENVELOPE_FORMATS[member]}"
    if member == "reading":
        return [value], value, signature
    if member == "batch" and not isinstance(value, list):
        return "malformed: batch is not a list"
    try:
        return readings_in_signed(value), value, signature
    except FormatProblem as problem:
        return str(problem)


def validate_message(
    raw: bytes, devices: DeviceDirectory, settings: IngestSettings, now_ms: int
) -> Verdict:
    verdict = Verdict()
    envelope = _envelope(raw)
    if isinstance(envelope, str):
        verdict.rejects.append(Reject(raw, envelope))
        return verdict
    bodies, signed, signature = envelope
    if not bodies or len(bodies) > settings.batch_max_readings:
        verdict.rejects.append(Reject(raw, "malformed: batch size"))
        return verdict
    problems = [schema_problem(body) for body in bodies]
    if any(problems):
        # The signature covers the whole batch: one bad reading makes the message unreadable.
        verdict.rejects.append(Reject(raw, next(p for p in problems if p)))
        return verdict
    user_ids = {body["userId"] for body in bodies}
    if len(user_ids) != 1:
        verdict.rejects.append(Reject(raw, "malformed: batch mixes devices"))
        return verdict
    user_id = user_ids.pop()
    device = devices.get_device(user_id)  # a store outage raises: the message is retried
    if device is None:
        verdict.rejects.append(Reject(raw, "unknown device"))
        return verdict
    public_key = public_key_bytes(device)
    try:
        signed_bytes = canonical(signed)
    except Exception:  # rfc8785 refuses values JSON allowed (e.g. integers beyond 2**53)  # noqa: BLE001
        verdict.rejects.append(Reject(raw, "malformed: not canonicalizable"))
        return verdict
    if len(signed_bytes) > settings.max_signed_bytes:  # it travels with its readings to storage
        verdict.rejects.append(Reject(raw, "malformed: signed value larger than "
                                           f"{settings.max_signed_bytes} bytes"))
        return verdict
    if peer_id_for(public_key) != user_id or not verify(public_key, signature, signed_bytes):
        verdict.rejects.append(Reject(raw, "signature"))
        return verdict
    seen_seqs: set[int] = set()
    verdict.device = user_id
    for body in bodies:
        problem = range_problem(body, settings, now_ms)
        if problem is None and body["seq"] in seen_seqs:
            problem = "replay: seq repeated in one message"
        if problem:
            verdict.rejects.append(Reject(canonical(body), problem))
            continue
        seen_seqs.add(body["seq"])
        verdict.valid.append(Reading.from_json(body))
    return verdict
