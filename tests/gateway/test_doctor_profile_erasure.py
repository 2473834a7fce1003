"""The doctor's patient list, the patient's own profile, and a patient's erasure of their records:
who may do each, and the refusals (real anvil, real SQLite store)."""

import os

from services.gateway.routes_erasure import erasure_typed_data
from services.gateway.typed_data import sign_typed
from services.ingest.device_identity import peer_id_for
from services.records.window_payload import sample_payload
from tests.gateway.conftest import EXPORTS, bearer, sign_in

CHAIN_ID = 31337


def _patient_with_windows(chain, store, count=3, start_ms=1_700_100_000_000):
    patient = chain.fund()
    device_key = os.urandom(32)
    device_id = peer_id_for(device_key)
    store.register_device(device_id, patient.address.lower(), device_key)
    refs = [store.put_window(patient.address.lower(), device_id, start_ms + i * 10_000,
                             sample_payload(i, device_id=device_id,
                                            window_start_ms=start_ms + i * 10_000))
            for i in range(count)]
    return patient, device_id, refs


def _erasure_body(client, owner, signer):
    nonce = client.get("/auth/nonce").get_json()["nonce"]
    signature = sign_typed(erasure_typed_data(owner, nonce, CHAIN_ID), signer.key)
    return {"nonce": nonce, "signature": signature.to_0x_hex()}


def test_doctor_patients__lists_only_those_who_linked_this_doctor(client, app, chain, store):
    doctor, other_doctor = chain.fund(), chain.fund()
    mine, device_id, _ = _patient_with_windows(chain, store, count=0)
    theirs, _, _ = _patient_with_windows(chain, store, count=0)
    store.link_doctor(mine.address.lower(), doctor.address.lower(), "dr@clinic.example")
    store.link_doctor(theirs.address.lower(), other_doctor.address.lower(), "b@clinic.example")

    response = client.get("/doctor/patients", headers=bearer(sign_in(client, doctor)))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["patients"] == [{"address": mine.address, "devices": [device_id]}]
    assert app.test_client().get("/doctor/patients").status_code == 401  # no session cookie


def test_doctor__patient_changes_doctor__the_former_doctor_loses_access(client, chain, store):
    former, current = chain.fund(), chain.fund()
    patient, _, _ = _patient_with_windows(chain, store, count=1)
    store.link_doctor(patient.address.lower(), former.address.lower(), "old@clinic.example")
    store.link_doctor(patient.address.lower(), current.address.lower(), "new@clinic.example")

    former_token = sign_in(client, former)
    assert client.get("/doctor/patients", headers=bearer(former_token)).get_json()["patients"] == []
    for path in ("windows", "alerts"):
        refused = client.get(f"/patients/{patient.address}/{path}", headers=bearer(former_token))
        assert refused.status_code == 403, path
    allowed = client.get(f"/patients/{patient.address}/windows",
                         headers=bearer(sign_in(client, current)))
    assert allowed.status_code == 200 and len(allowed.get_json()["windows"]) == 1


def test_profile__owner_reads_devices_contacts_doctor__doctor_and_stranger_refused(
        client, app, chain, store):
    doctor, stranger = chain.fund(), chain.fund()
    patient, device_id, _ = _patient_with_windows(chain, store, count=0)
    store.set_contacts(patient.address.lower(), ["me@home.example"])
    store.link_doctor(patient.address.lower(), doctor.address.lower(), "dr@clinic.example")

    response = client.get(f"/patients/{patient.address}/profile",
                          headers=bearer(sign_in(client, patient)))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [d["device_id"] for d in body["devices"]] == [device_id]
    assert body["contacts"] == ["me@home.example"]
    assert body["doctor"] == {"address": doctor.address, "email": "dr@clinic.example"}
    for reader in (doctor, stranger):  # contact emails are the patient's alone
        refused = client.get(f"/patients/{patient.address}/profile",
                             headers=bearer(sign_in(client, reader)))
        assert refused.status_code == 403
    assert app.test_client().get(f"/patients/{patient.address}/profile").status_code == 401


def test_erasure__patient_signed__keys_destroyed_and_records_to_retire_listed(
        client, chain, store, market):
    sale = market.sale()  # a registered export, bought and read-ready
    patient = sale.patient
    device_key = os.urandom(32)
    device_id = peer_id_for(device_key)
    store.register_device(device_id, patient.address.lower(), device_key)
    windows = [store.put_window(patient.address.lower(), device_id, 1_700_200_000_000 + i * 10_000,
                                sample_payload(i, device_id=device_id,
                                               window_start_ms=1_700_200_000_000 + i * 10_000))
               for i in range(4)]
    token = sign_in(client, patient)

    response = client.post(f"/patients/{patient.address}/erasure", headers=bearer(token),
                           json=_erasure_body(client, patient.address, patient))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["windows_erased"], body["bundles_erased"]) == (4, 1)
    assert body["to_retire"] == [sale.record_id]
    assert body["on_chain_records"] == [{"record_id": sale.record_id, "data_class": EXPORTS,
                                         "active": True, "key_destroyed": True}]
    one = client.get(f"/patients/{patient.address}/windows/{windows[0].record_id}",
                     headers=bearer(token))
    assert one.status_code == 410
    listing = client.get(f"/patients/{patient.address}/windows", headers=bearer(token))
    assert all(w["erased"] for w in listing.get_json()["windows"])
    buyer = client.get(f"/records/{sale.record_id}", query_string={"purchase_id": sale.purchase_id},
                       headers=bearer(sign_in(client, sale.buyer)))
    assert buyer.status_code == 410  # the buyer keeps nothing new: the key is gone

    # The wallet retires the record; asking again erases nothing more and lists nothing to retire.
    chain.send(patient, chain.contract.functions.retireRecord(bytes.fromhex(sale.record_id[2:])))
    again = client.post(f"/patients/{patient.address}/erasure", headers=bearer(token),
                        json=_erasure_body(client, patient.address, patient)).get_json()
    assert (again["windows_erased"], again["windows_already_erased"]) == (0, 4)
    assert again["bundles_erased"] == 0 and again["to_retire"] == []


def test_erasure__someone_else__refused_and_nothing_erased(client, app, chain, store):
    doctor, stranger = chain.fund(), chain.fund()
    patient, _, refs = _patient_with_windows(chain, store, count=2, start_ms=1_700_300_000_000)
    store.link_doctor(patient.address.lower(), doctor.address.lower(), "dr@clinic.example")
    url = f"/patients/{patient.address}/erasure"

    no_session = app.test_client().post(url, json=_erasure_body(client, patient.address, patient))
    assert no_session.status_code == 401
    for other in (doctor, stranger):  # signed in as themselves, even with the patient's signature
        refused = client.post(url, headers=bearer(sign_in(client, other)),
                              json=_erasure_body(client, patient.address, patient))
        assert refused.status_code == 403, refused.get_json()
    token = sign_in(client, patient)
    forged = client.post(url, headers=bearer(token),
                         json=_erasure_body(client, patient.address, stranger))
    assert forged.status_code == 401  # a session alone is not enough: the wallet must sign
    body = _erasure_body(client, patient.address, patient)
    body["signature"] = "0x" + "ab" * 65
    assert client.post(url, headers=bearer(token), json=body).status_code == 401
    assert client.post(url, headers=bearer(token), json={"nonce": "x"}).status_code == 400

    assert not any(store.window_meta(ref.record_id).erased for ref in refs)


def test_erasure__replayed_request__refused(client, chain, store):
    patient, _, _ = _patient_with_windows(chain, store, count=1, start_ms=1_700_400_000_000)
    token = sign_in(client, patient)
    body = _erasure_body(client, patient.address, patient)
    url = f"/patients/{patient.address}/erasure"
    assert client.post(url, headers=bearer(token), json=body).status_code == 200
    replay = client.post(url, headers=bearer(token), json=body)
    assert replay.status_code == 401
    assert "nonce" in replay.get_json()["message"]


def test_erasure__budgeted_per_patient(app_with, chain, store):
    """Each erasure pages through all the patient's windows: a patient's budget (in the shared
    state, so it holds across replicas) bounds what one wallet asks of the gateway."""
    client = app_with(erasures_per_patient=1).test_client()
    patient, _, _ = _patient_with_windows(chain, store, count=1, start_ms=1_700_500_000_000)
    token = sign_in(client, patient)
    url = f"/patients/{patient.address}/erasure"
    first = client.post(url, headers=bearer(token),
                        json=_erasure_body(client, patient.address, patient))
    assert first.status_code == 200
    again = client.post(url, headers=bearer(token),
                        json=_erasure_body(client, patient.address, patient))
    assert again.status_code == 429 and "erasure requests" in again.get_json()["message"]
    assert int(again.headers["Retry-After"]) > 0
