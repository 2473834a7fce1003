"""docs/devices.md is enough to build a device: the client written from it alone (doc_client.py)
is paired as a patient would pair it, and every format it sends is accepted and read as it
meant; the doc's shell recipe (openssl + curl) works as printed; every error name the endpoint
answers with is in the doc."""

import re
import threading
import time

import pytest

from services.ingest.settings import IngestSettings
from services.ingest.validation import validate_message
from tests.doc_recipes import DEVICES_DOC, recipe, run

from .doc_client import Device, Endpoint
from .messages import now_ms
from .server import OWNER, IngestServer

DOC = DEVICES_DOC


def _pair(server, device: Device) -> None:
    """What the patient's pairing does (through the gateway): register peer id and public key."""
    server.store.register_device(device.peer_id, OWNER, device.public_key)


def _read_back(server, message: dict) -> list[tuple]:
    """The readings the masters will read from what the endpoint queued."""
    import json

    received = server.queue.receive(100)
    server.queue.complete(received)
    [queued] = [m for m in received if json.loads(m.body) == message]
    verdict = validate_message(queued.body, server.store, IngestSettings(), now_ms())
    return [(r.seq, r.ts_ms, r.heartrate, list(r.rr), r.signal) for r in verdict.valid]


def test_doc_peer_id__is_libp2p_peer_id():
    from libp2p.crypto.ed25519 import Ed25519PublicKey
    from libp2p.peer.id import ID

    device = Device()
    assert device.peer_id == ID.from_pubkey(Ed25519PublicKey.from_bytes(device.public_key)) \
        .to_base58()
    assert device.peer_id.startswith("12D3KooW") and len(device.peer_id) == 52


def test_doc_client__every_format_accepted_and_read_as_meant(server):
    device = Device()
    _pair(server, device)
    endpoint = Endpoint(server.url, headers={"X-Forwarded-For": "127.0.10.1"})
    t = now_ms() - 30_000

    batch = device.batch([(1, t, 70.5, [850, 860]), (2, t + 1000, 71, [])])
    assert endpoint.post(batch).json() == {"accepted": 2, "rejected": []}
    assert _read_back(server, batch) == [(1, t, 70.5, [850, 860], "rr"),
                                         (2, t + 1000, 71, [], "hr_averaged")]

    omh = device.omh(beats=[(t + 2000, 845.4)], averages=[(t + 3000, t + 8000, 69)])
    assert endpoint.post(omh).json() == {"accepted": 2, "rejected": []}
    assert _read_back(server, omh) == [(t + 2000, t + 2000, 71.0, [845], "rr"),
                                       (t + 8000, t + 8000, 69, [], "hr_averaged")]

    single = device.fhir([device.observation(t + 9000, 72, [830])])
    bundle = device.fhir([device.observation(t + 10_000, 73, signal="hr_instantaneous"),
                          device.observation(t + 11_000, 74)])
    assert endpoint.post(single).json() == {"accepted": 1, "rejected": []}
    assert _read_back(server, single) == [(t + 9000, t + 9000, 72, [830], "rr")]
    assert endpoint.post(bundle).json() == {"accepted": 2, "rejected": []}
    assert _read_back(server, bundle) == [(t + 10_000, t + 10_000, 73, [], "hr_instantaneous"),
                                          (t + 11_000, t + 11_000, 74, [], "hr_averaged")]


def test_doc_client__answers_as_the_doc_tables_say(server):
    device, stranger = Device(), Device()
    _pair(server, device)
    endpoint = Endpoint(server.url, headers={"X-Forwarded-For": "127.0.10.2"})
    message = device.batch([(1, now_ms(), 70, [])])
    message["batch"][0]["heartrate"] = 90  # changed after signing
    answer = endpoint.post(message)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    answer = endpoint.post(stranger.batch([(1, now_ms(), 70, [])]))
    assert answer.status_code == 403 and answer.json()["error"] == "unknown_device"
    answer = endpoint.post(device.batch([(1, now_ms(), 70, []), (2, now_ms(), 400, [])]))
    assert answer.status_code == 202
    assert answer.json()["rejected"][0]["reason"] == "range: heartrate"


def test_doc_client__backpressure__waits_retry_after_then_is_accepted(tmp_path):
    server = IngestServer(tmp_path, max_queue_depth=2, backpressure_retry_after_s=1)
    try:
        device = Device()
        _pair(server, device)
        server.queue.send([b"behind"] * 3)
        assert server.wait_behind(True)["behind"]
        endpoint = Endpoint(server.url, max_attempts=30)
        results = []
        sender = threading.Thread(target=lambda: results.append(
            endpoint.post(device.batch([(1, now_ms() - 1000, 70, [])]))))
        sender.start()
        deadline = time.monotonic() + 60
        while endpoint.attempts < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.queue.complete(server.queue.receive(10))  # the masters catch up
        sender.join(60)
        assert results and results[0].status_code == 202 and endpoint.attempts >= 2
    finally:
        server.stop()


def test_doc_curl_recipe__works_as_printed(server, tmp_path):
    peer_id = run(recipe("identity"), tmp_path).strip().splitlines()[-1]
    server.store.register_device(peer_id, OWNER, (tmp_path / "device.pub").read_bytes())
    out = run(recipe("post"), tmp_path, BASE=server.url, PEER_ID=peer_id)
    assert out.strip() == '{"accepted":1,"rejected":[]}'
    # the doc's next line: the same signature over a changed heart rate is refused
    tampered = recipe("post").replace("\"heartrate\":72", "\"heartrate\":73") \
        .replace("printf '%s' \"$VALUE\" > signed.json", "")
    out = run(tampered, tmp_path, BASE=server.url, PEER_ID=peer_id)
    assert '"error":"bad_signature"' in out


@pytest.mark.parametrize("error", [
    "malformed", "unsigned", "bad_signature", "unknown_device", "invalid", "client_budget",
    "reject_budget", "device_budget", "backpressure", "unavailable", "unsupported_media_type",
    "request_entity_too_large", "method_not_allowed", "not_found"])
def test_doc__names_every_error_the_endpoint_answers(error):
    assert f"`{error}`" in DOC.read_text()


def test_doc__names_every_refusal_the_code_maps():
    from services.device_ingest.answers import _REFUSALS

    for _, status, error, _ in _REFUSALS:
        assert re.search(rf"\| {status} \| [^|]*`{error}`", DOC.read_text()), error
