"""Every way a message can be refused: a 4xx with the reason and a dead letter holding it, the
same reason the masters give; never a 500. Refusals of the transport itself (too large, not
JSON, wrong method) are answered without reading or keeping the body."""

import json

import pytest

from services.ingest.device_identity import DeviceKey
from services.ingest.reading import Reading, b64, canonical, sign_batch, sign_reading
from tests.ingest.format_examples import (
    envelope,
    fhir_bundle,
    fhir_observation,
    omh_heart_rate,
)

from .messages import now_ms


def _reading(key, seq=1, **fields):
    values = {"user_id": key.user_id, "heartrate": 70.0, "ts_ms": now_ms() - 1000, "seq": seq,
              "rr": (), "signal": "hr_averaged"}
    values.update(fields)
    return Reading(**values)


def _signed_bodies(key, bodies) -> bytes:
    return json.dumps({"batch": bodies, "sig": b64(key.sign(canonical(bodies)))}).encode()


def _without(field):
    def build(device, stranger):
        body = _reading(device).to_json()
        del body[field]
        return _signed_bodies(device, [body])
    return build


def _omh_value(document: dict, value) -> dict:
    document["body"]["heart_rate"]["value"] = value
    return document


WHOLE_MESSAGE = {  # name -> (build(device, stranger), status, error, reason)
    "not json": (lambda d, s: b"{broken", 400, "malformed", "malformed: not JSON"),
    "not an object": (lambda d, s: b"[1, 2]", 400, "malformed", "malformed: not an object"),
    "unsigned": (lambda d, s: json.dumps({"reading": _reading(d).to_json()}).encode(),
                 401, "unsigned", "unsigned"),
    "sig not a string": (lambda d, s: json.dumps({"reading": _reading(d).to_json(),
                                                   "sig": 5}).encode(),
                          401, "bad_signature", "signature: not base64url"),
    "unknown member": (lambda d, s: json.dumps({"readings": [], "sig": "AA"}).encode(),
                       400, "malformed",
                       "malformed: expected {sig} and one of reading, batch, omh, fhir"),
    "member says another format": (
        lambda d, s: envelope("fhir", [omh_heart_rate(d.user_id, now_ms())], d),
        400, "malformed", "malformed: the fhir member does not hold fhir"),
    "unknown device": (lambda d, s: sign_reading(s, _reading(s)), 403, "unknown_device",
                       "unknown device"),
    "tampered": (lambda d, s: sign_reading(d, _reading(d)).replace(b"70.0", b"71.0"),
                 401, "bad_signature", "signature"),
    "another key signed": (
        lambda d, s: json.dumps({"reading": _reading(d).to_json(),
                                 "sig": b64(s.sign(canonical(_reading(d).to_json())))}).encode(),
        401, "bad_signature", "signature"),
    "no signal": (_without("signal"), 422, "invalid", "schema: missing ['signal']"),
    "intervals from an hr-only device": (
        lambda d, s: sign_batch(d, [_reading(d, rr=(800,), signal="hr_instantaneous")]),
        422, "invalid", "schema: rr given by a device that declares a heart-rate-only signal"),
    "omh summary": (
        lambda d, s: envelope("omh", omh_heart_rate(d.user_id, now_ms(),
                                                    descriptive_statistic="maximum"), d),
        422, "invalid", ("omh: data point 0: a heart rate 'maximum' is a summary the screen "
                        "cannot use (send single measurements or averages)")),
    "fhir not a heart rate": (
        lambda d, s: envelope("fhir", fhir_observation(
            d.user_id, now_ms(), code={"coding": [{"system": "http://loinc.org",
                                                   "code": "8310-5"}]}), d),
        422, "invalid", "fhir: Observation.code must include LOINC 8867-4 (heart rate)"),
    "mixes devices": (lambda d, s: _signed_bodies(d, [_reading(d).to_json(),
                                                      _reading(s, 2).to_json()]),
                      400, "malformed", "malformed: batch mixes devices"),
    "too many readings": (lambda d, s: sign_batch(d, [_reading(d, i) for i in range(601)]),
                          400, "malformed", "malformed: batch size"),
    "signed value too large": (
        lambda d, s: envelope("fhir", fhir_bundle([
            fhir_observation(d.user_id, now_ms() - 700_000 + i * 1000, rr=(830, 840, 850))
            for i in range(600)]), d),
        400, "malformed", "malformed: signed value larger than 524288 bytes"),
    # an integer beyond any double: a number check that raised on it answered 503 "store
    # unreachable", before any signature was checked, and kept no dead letter
    "heart rate beyond any double": (
        lambda d, s: json.dumps({"reading": dict(_reading(d).to_json(), heartrate=10**400),
                                 "sig": "AAAA"}).encode(),
        422, "invalid", "schema: heartrate must be a number"),
    "omh value beyond any double": (
        lambda d, s: json.dumps({"omh": _omh_value(omh_heart_rate(d.user_id, now_ms()), 10**400),
                                 "sig": "AAAA"}).encode(),  # no canonical form: none signs it
        422, "invalid",
        "omh: data point 0: body.heart_rate must be {value: number, unit: 'beats/min'}"),
    "not canonicalizable": (lambda d, s: json.dumps({"reading": _reading(d, 2**60).to_json(),
                                                     "sig": "AAAA"}).encode(),
                            400, "malformed", "malformed: not canonicalizable"),
}


@pytest.mark.parametrize("case", WHOLE_MESSAGE)
def test_whole_message_refused__4xx_reason_and_dead_letter(server, case):
    build, status, error, reason = WHOLE_MESSAGE[case]
    device, stranger = server.device(), server.device(register=False)
    message = build(device, stranger)
    answer = server.post(message, client=f"127.0.3.{list(WHOLE_MESSAGE).index(case)}")
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error and answer.json()["reason"] == reason
    assert answer.json()["message"]
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("PulseLedger-Device-Signature")
    assert (message, reason) in server.dead_letters()


PER_READING = {  # every reading of a signed message refused: 422, each reading dead-lettered
    "heart rate out of range": ({"heartrate": 300.0}, "range: heartrate"),
    "rr out of range": ({"rr": (100,), "signal": "rr"}, "range: rr"),
    "in the future": ({"ts_ms": now_ms() + 3_600_000}, "timestamp: in the future"),
    "too old": ({"ts_ms": now_ms() - 2 * 86_400_000}, "timestamp: too old"),
}


@pytest.mark.parametrize("case", PER_READING)
def test_every_reading_refused__422_each_reading_dead_lettered(server, case):
    fields, reason = PER_READING[case]
    device = server.device()
    readings = [_reading(device, seq, **fields) for seq in (1, 2)]
    answer = server.post(sign_batch(device, readings),
                         client=f"127.0.4.{list(PER_READING).index(case)}")
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid" and body["reason"] == reason
    assert [(r["seq"], r["reason"]) for r in body["rejected"]] == [(1, reason), (2, reason)]
    for reading in readings:
        assert (canonical(reading.to_json()), reason) in server.dead_letters()


def test_device_registered_under_another_key__refused_as_a_bad_signature(server):
    """The store's key for a device must be the key its peer id names: a registration that
    mixed them up admits nothing, whoever signs."""
    device, other = server.device(register=False), DeviceKey.generate()
    server.store.register_device(device.user_id, "0x" + "33" * 20, other.public_bytes)
    for signer in (device, other):
        message = json.dumps({"reading": _reading(device).to_json(), "sig": b64(
            signer.sign(canonical(_reading(device).to_json())))}).encode()
        answer = server.post(message, client="127.0.5.1")
        assert answer.status_code == 401 and answer.json()["reason"] == "signature"
        assert (message, "signature") in server.dead_letters()


TRANSPORT = {  # name -> (method, path, body, headers, status, error)
    "too large": ("POST", "/v1/readings", b"[" + b"1," * 600_000 + b"1]", {}, 413,
                  "request_entity_too_large"),
    "not json": ("POST", "/v1/readings", b"{}", {"Content-Type": "text/plain"}, 415,
                 "unsupported_media_type"),
    "compressed": ("POST", "/v1/readings", b"{}", {"Content-Encoding": "gzip"}, 415,
                   "unsupported_media_type"),
    "wrong method": ("GET", "/v1/readings", b"", {}, 405, "method_not_allowed"),
    "unknown path": ("POST", "/v1/reading", b"{}", {}, 404, "not_found"),
}


@pytest.mark.parametrize("case", TRANSPORT)
def test_transport_refused__4xx_with_a_message_nothing_kept(server, case):
    import requests

    method, path, body, headers, status, error = TRANSPORT[case]
    before = len(server.dead_letters())
    answer = requests.request(method, server.url + path, data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Forwarded-For": "127.0.6.1", **headers})
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["message"]
    assert len(server.dead_letters()) == before
    if status == 405:
        assert "POST" in answer.headers["Allow"]


def test_the_log__says_what_happened_never_what_was_sent(server):
    device = server.device()
    accepted = sign_reading(device, _reading(device, heartrate=201.5))
    refused = sign_reading(device, _reading(device, 7, heartrate=300.0))
    for message in (accepted, refused):
        server.post(message, client="127.0.6.2")
    logs = server.logs()
    assert '"reason":"range: heartrate"' in logs and '"status":202' in logs
    signatures = [json.loads(m)["sig"] for m in (accepted, refused)]
    for secret in ("201.5", "300.0", device.user_id, "127.0.6.2", *signatures):
        assert secret not in logs
