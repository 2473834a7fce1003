"""One bad window costs only itself on the owner's read path: the list and /alerts answer the rest
with that window flagged; reading it alone is refused (502) with a tamper or missing-key code;
each refusal is logged with the record id and counted in
gateway_record_integrity_failures_total (real SQLite store, real anvil)."""

import os
import re

from services.records import merkle
from services.records.tables import Write
from services.records.window_payload import sample_payload
from tests.gateway.conftest import bearer, sign_in

START = 1_800_000_000_000


def _windows(store, patient, statuses):
    device = "12D3KooW" + os.urandom(6).hex()
    refs = []
    for i, status in enumerate(statuses):
        start = START + i * 10_000
        refs.append(store.put_window(patient.address.lower(), device, start, sample_payload(
            i, device_id=device, window_start_ms=start, status=status)))
    return refs


def _flip_ciphertext(store, record_id):
    sealed = bytearray(store.tables.get("windows", record_id)["ciphertext"])
    sealed[20] ^= 1
    store.tables.commit([Write("update", "windows", record_id, {"ciphertext": bytes(sealed)})])


def _failures(client, problem) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    series = f'gateway_record_integrity_failures_total{{path="owner",problem="{problem}"}} '
    match = re.search(re.escape(series) + r"([0-9.]+)", text)
    return float(match.group(1)) if match else 0.0


def test_list__one_tampered_window__rest_answered_that_one_flagged(client, chain, store,
                                                                    gateway_log):
    patient = chain.fund()
    refs = _windows(store, patient, ["regular"] * 4)
    _flip_ciphertext(store, refs[2].record_id)
    before = _failures(client, "tampered")
    token = sign_in(client, patient)

    listing = client.get(f"/patients/{patient.address}/windows",
                         query_string={"payload": "true"}, headers=bearer(token))
    assert listing.status_code == 200, listing.get_json()
    windows = {w["record_id"]: w for w in listing.get_json()["windows"]}
    assert windows[refs[2].record_id]["flag"] == "tampered"
    assert "payload" not in windows[refs[2].record_id]
    for ref in (refs[0], refs[1], refs[3]):
        assert windows[ref.record_id]["flag"] is None and windows[ref.record_id]["payload"]
    assert _failures(client, "tampered") == before + 1
    tamper_lines = [r for r in gateway_log if r.getMessage() == "tamper_detected"]
    assert [r.fields["record"] for r in tamper_lines] == [refs[2].record_id]

    # the store kept the flag: a listing without payloads shows it, and does not alert again
    again = client.get(f"/patients/{patient.address}/windows", headers=bearer(token))
    flags = {w["record_id"]: w["flag"] for w in again.get_json()["windows"]}
    assert flags[refs[2].record_id] == "tampered" and flags[refs[0].record_id] is None
    assert _failures(client, "tampered") == before + 1

    alone = client.get(f"/patients/{patient.address}/windows/{refs[2].record_id}",
                       headers=bearer(token))
    assert alone.status_code == 502 and alone.get_json()["error"] == "tampering_detected"
    assert _failures(client, "tampered") == before + 2


def test_alerts__one_tampered_window__alerts_from_the_rest_and_that_one_flagged(client, chain,
                                                                               store):
    patient = chain.fund()
    refs = _windows(store, patient, ["irregular"] * 7)
    _flip_ciphertext(store, refs[0].record_id)
    token = sign_in(client, patient)
    response = client.get(f"/patients/{patient.address}/alerts", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["windows_examined"] == 6
    [alert] = body["alerts"]  # the 6th readable window completes "5 of the last 6"
    assert alert["record_id"] == refs[6].record_id
    [flagged] = body["flagged"]
    assert (flagged["record_id"], flagged["flag"]) == (refs[0].record_id, "tampered")


def test_key_deleted_behind_the_store__502_key_missing_not_410(client, chain, store,
                                                               gateway_log):
    patient = chain.fund()
    refs = _windows(store, patient, ["regular"] * 2)
    key_ref = store.tables.get("windows", refs[0].record_id)["key_ref"]
    wrapped = store.keys.get(key_ref)
    store.keys.destroy([key_ref])  # not an erasure: the journal does not list it
    before = _failures(client, "key_missing")
    token = sign_in(client, patient)
    alone = client.get(f"/patients/{patient.address}/windows/{refs[0].record_id}",
                       headers=bearer(token))
    assert alone.status_code == 502 and alone.get_json()["error"] == "key_missing"
    assert _failures(client, "key_missing") == before + 1
    assert any(r.getMessage() == "record_key_missing" and r.fields["record"] == refs[0].record_id
               for r in gateway_log)
    listing = client.get(f"/patients/{patient.address}/windows",
                         query_string={"payload": "true"}, headers=bearer(token))
    flags = {w["record_id"]: w["flag"] for w in listing.get_json()["windows"]}
    assert flags == {refs[0].record_id: "key_missing", refs[1].record_id: None}

    store.keys.put_many([wrapped])  # the key backup restored: the window reads again
    alone = client.get(f"/patients/{patient.address}/windows/{refs[0].record_id}",
                       headers=bearer(token))
    assert alone.status_code == 200 and alone.get_json()["flag"] is None


def test_batch_built_not_yet_anchored__served_like_an_unbatched_window(client, chain, store):
    """The seconds between a storage peer building a batch and its anchoring transaction are
    not tampering: the window is served on the store's own checks."""
    patient = chain.fund()
    refs = _windows(store, patient, ["regular"] * 2)
    root, proofs = merkle.build([r.ciphertext_sha256 for r in refs])
    store.record_batch(root, [r.record_id for r in refs], proofs, None)
    token = sign_in(client, patient)
    response = client.get(f"/patients/{patient.address}/windows/{refs[1].record_id}",
                          headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["batch_root"] == "0x" + root.hex()
