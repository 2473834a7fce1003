"""Wallet-signed onboarding (device, contacts, doctor), then the patient and their doctor read the
patient's windows and follow them live over Server-Sent Events (real SQLite store)."""

import json
import string
import threading
import time

from services.ingest.device_identity import DeviceKey, peer_id_for
from services.ingest.pairing import pairing_code
from services.records import WindowInput
from services.records.window_payload import sample_payload
from tests.doc_recipes import recipe, run
from tests.gateway.conftest import bearer, sign_in
from tests.gateway.onboarding_helpers import (
    DAY_MS,
    confirm,
    device_key,
    fresh_code,
    link_doctor,
    mailed_secrets,
    register_device,
    signed_body,
)


def test_onboarding__signed_requests__stored(client, chain, store, outbox):
    patient, doctor = chain.fund(), chain.fund()
    response, device_id, _ = register_device(client, patient)
    assert response.status_code == 201, response.get_json()
    assert store.get_device(device_id).owner == patient.address.lower()

    emails = ["me@home.example", "backup@home.example"]
    contacts = signed_body(client, patient, "SetContacts",
                           {"owner": patient.address, "emails": emails},
                           {"owner": patient.address, "emails": emails})
    assert client.post("/onboarding/contacts", json=contacts).status_code == 200
    assert store.get_contacts(patient.address.lower()) == [], "nothing before a confirmation"
    for email in emails:
        assert confirm(client, mailed_secrets(outbox, email)[-1]).status_code == 200
    assert store.get_contacts(patient.address.lower()) == emails

    assert link_doctor(client, patient, doctor, "dr-stored@clinic.example").status_code == 200
    assert store.get_doctor(patient.address.lower()).address == doctor.address.lower()


def test_onboarding__replayed_or_foreign_signature__refused(client, chain, store):
    patient, intruder = chain.fund(), chain.fund()
    response, _, body = register_device(client, patient)
    assert response.status_code == 201
    replay = client.post("/onboarding/device", json=body)
    assert replay.status_code == 401
    assert "nonce" in replay.get_json()["message"]

    forged, device_id, _ = register_device(client, patient, signer=intruder)
    assert forged.status_code == 401
    assert store.get_device(device_id) is None

    key = device_key()
    wrong_peer = client.post("/onboarding/device", json={
        "owner": patient.address, "device_id": peer_id_for(device_key()),
        "public_key": "0x" + key.hex(), "nonce": "abcdefgh12345678", "signature": "0x" + "11" * 65})
    assert wrong_peer.status_code == 400
    assert "peer id" in wrong_peer.get_json()["message"]


def test_onboarding__without_the_devices_own_code__nobody_pairs_it(client, chain, store):
    """A peer id is no secret (printed on the box, named by every reading, and it carries the
    public key): the owner's signature alone let whoever read an unpaired id first pair it, and
    the patient's readings were then stored for them. Now pairing needs the device's pairing
    code: without one, with another device's, with one the device signed for another time,
    expired, or good too far ahead, nothing is registered and the owner's nonce is not spent."""
    patient = chain.fund()
    device, other = DeviceKey.generate(), DeviceKey.generate()
    now = int(time.time() * 1000)
    good = fresh_code(device)
    expires, signature = good.split(".")
    refusals = {
        "": (400, "pairing code is <expires_ms>"),
        "not-a-code": (400, "pairing code is <expires_ms>"),
        fresh_code(other): (403, "not signed by this device"),
        f"{int(expires) + 1}.{signature}": (403, "not signed by this device"),
        pairing_code(device, now - 1000): (403, "expired"),
        pairing_code(device, now + 31 * DAY_MS): (403, "more than 30 days"),
    }
    for code, (status, reason) in refusals.items():
        response, _, body = register_device(client, patient, device=device, code=code)
        assert response.status_code == status, (code, response.get_json())
        assert reason in response.get_json()["message"]
        assert store.get_device(device.user_id) is None
    # the last refusal's nonce was not spent: the same request with the device's code pairs
    assert client.post("/onboarding/device", json=dict(body, pairing_code=good)).status_code == 201
    assert store.get_device(device.user_id).owner == patient.address.lower()


def test_unpair__only_by_the_owner__then_a_new_code_pairs_it_and_an_old_one_never(
        client, chain, store):
    """A wearable replaced or sold: its patient unpairs it (EIP-712, like pairing), its windows
    stay theirs, and whoever has it next pairs it with a new code. A code used before, like the
    one the seller saw on its screen, pairs nothing again, even after the unpairing."""
    seller, buyer, stranger = chain.fund(), chain.fund(), chain.fund()
    device = DeviceKey.generate()
    response, device_id, body = register_device(client, seller, device=device)
    assert response.status_code == 201
    store.put_window(seller.address.lower(), device_id, 0,
                     sample_payload(device_id=device_id, window_start_ms=0))

    def unpair(owner, signer=None):
        return client.post("/onboarding/device/unpair", json=signed_body(
            client, signer or owner, "UnpairDevice",
            {"owner": owner.address, "deviceId": device_id},
            {"owner": owner.address, "device_id": device_id}))

    assert unpair(seller, signer=stranger).status_code == 401  # not the owner's signature
    assert unpair(stranger).status_code == 404  # not theirs: nothing said about whose it is
    assert store.get_device(device_id).owner == seller.address.lower()
    assert unpair(seller).status_code == 200
    assert store.get_device(device_id) is None
    assert [w.device_id for w in store.list_windows(seller.address.lower(), 0)] == [device_id]
    assert unpair(seller).status_code == 404

    expires, signature = body["pairing_code"].split(".")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    # base64's spare low bits in the last character: another text, the same 64 bytes
    respelled = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    for spelling in (body["pairing_code"], f"0{expires}.{signature}", f"{expires}.{respelled}"):
        reused, _, _ = register_device(client, seller, device=device, code=spelling)
        assert reused.status_code == 403 and "used before" in reused.get_json()["message"]
    assert store.get_device(device_id) is None
    assert register_device(client, buyer, device=device)[0].status_code == 201
    assert store.get_device(device_id).owner == buyer.address.lower()


def test_onboarding__a_code_made_by_the_devices_doc_recipe__pairs(client, chain, store, tmp_path):
    """docs/devices.md's shell recipes (openssl, no code of ours) make a key, its peer id and a
    pairing link; the link's code pairs that device through the gateway."""
    from urllib.parse import parse_qs, urlsplit

    patient = chain.fund()
    peer_id = run(recipe("identity"), tmp_path).strip().splitlines()[-1]
    link = run(recipe("pairing"), tmp_path, PEER_ID=peer_id, APP="http://app.invalid")
    query = parse_qs(urlsplit(urlsplit(link.strip()).fragment).query)
    assert query["device"] == [peer_id]
    key = (tmp_path / "device.pub").read_bytes()
    body = signed_body(client, patient, "RegisterDevice",
                       {"owner": patient.address, "deviceId": peer_id, "publicKey": key},
                       {"owner": patient.address, "device_id": peer_id,
                        "public_key": "0x" + key.hex(), "pairing_code": query["code"][0]})
    assert client.post("/onboarding/device", json=body).status_code == 201
    assert store.get_device(peer_id).owner == patient.address.lower()


def test_onboarding__a_key_no_device_could_sign_with__refused(client, chain, store):
    """A small-order key (the identity point: under it OpenSSL accepted one signature for every
    message) or 32 bytes that are no curve point: 400 with the reason, nothing registered,
    before the wallet's signature or the nonce is even looked at."""
    patient = chain.fund()
    identity_point = bytes([1]) + bytes(31)
    not_a_point = bytes.fromhex("02" + "00" * 31)  # y = 2 has no x on the curve
    for key in (identity_point, not_a_point):
        device_id = peer_id_for(key)
        refused = client.post("/onboarding/device", json={
            "owner": patient.address, "device_id": device_id, "public_key": "0x" + key.hex(),
            "nonce": "abcdefgh12345678", "signature": "0x" + "11" * 65})
        assert refused.status_code == 400
        assert "prime-order" in refused.get_json()["message"]
        assert store.get_device(device_id) is None


def test_windows__owner_and_doctor_read__stranger_refused(client, chain, store):
    patient, doctor, stranger = chain.fund(), chain.fund(), chain.fund()
    _, device_id, _ = register_device(client, patient)
    assert link_doctor(client, patient, doctor).status_code == 200
    payload = sample_payload(0, device_id=device_id, window_start_ms=1_700_000_000_000)
    ref = store.put_window(patient.address.lower(), device_id, 1_700_000_000_000, payload)

    for reader in (patient, doctor):
        token = sign_in(client, reader)
        listing = client.get(f"/patients/{patient.address}/windows",
                             query_string={"payload": "true"}, headers=bearer(token))
        assert listing.status_code == 200, listing.get_json()
        [window] = listing.get_json()["windows"]
        assert window["record_id"] == ref.record_id and window["payload"] == payload
        one = client.get(f"/patients/{patient.address}/windows/{ref.record_id}",
                         headers=bearer(token))
        assert one.get_json()["payload"] == payload

    refused = client.get(f"/patients/{patient.address}/windows",
                         headers=bearer(sign_in(client, stranger)))
    assert refused.status_code == 403


def test_live__new_window_arrives_as_a_server_sent_event(client, chain, store):
    patient = chain.fund()
    _, device_id, _ = register_device(client, patient)
    token = sign_in(client, patient)
    response = client.get(f"/patients/{patient.address}/live", headers=bearer(token),
                          buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    stream = response.response  # the generator the server writes from

    written = {}

    def write_after_subscribing():
        written["ref"] = store.put_window(
            patient.address.lower(), device_id, 1_700_000_010_000,
            sample_payload(1, device_id=device_id, window_start_ms=1_700_000_010_000,
                           irregular=True))

    events = []
    writer = threading.Thread(target=write_after_subscribing)
    for chunk in stream:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if text.startswith("retry:"):
            writer.start()
            continue
        if text.startswith("id:"):
            events.append(text)
            break
    writer.join()
    response.close()
    lines = dict(line.split(": ", 1) for line in events[0].strip().split("\n"))
    assert lines["event"] == "window_added"
    assert json.loads(lines["data"])["record_id"] == written["ref"].record_id


def test_windows__batched__served_only_when_the_root_is_anchored_on_chain(client, chain, store):
    """The read path verifies the batch proof and asks the chain whether the root is anchored."""
    from services.records import merkle

    patient, custodian = chain.fund(), chain.fund()
    _, device_id, _ = register_device(client, patient)
    payloads = [sample_payload(i, device_id=device_id, window_start_ms=1_700_000_100_000 + i * 10_000)
                for i in range(3)]
    anchored = [store.put_window(patient.address.lower(), device_id, p["window_start_ms"], p)
                for p in payloads]
    unanchored = store.put_window(patient.address.lower(), device_id, 1_700_000_200_000,
                                  sample_payload(9, device_id=device_id,
                                                 window_start_ms=1_700_000_200_000))
    chain.send(chain.owner, chain.contract.functions.setCustodian(custodian.address, True))

    root, proofs = merkle.build([ref.ciphertext_sha256 for ref in anchored])
    receipt = chain.send(custodian, chain.contract.functions.anchorBatch(root, len(anchored)))
    store.record_batch(root, [r.record_id for r in anchored], proofs,
                       receipt["transactionHash"].to_0x_hex())
    lonely_root, lonely_proofs = merkle.build([unanchored.ciphertext_sha256])
    # the store says anchored, the chain has never seen the root
    store.record_batch(lonely_root, [unanchored.record_id], lonely_proofs, "0x" + "ee" * 32)

    token = sign_in(client, patient)
    good = client.get(f"/patients/{patient.address}/windows/{anchored[1].record_id}",
                      headers=bearer(token))
    assert good.status_code == 200 and good.get_json()["payload"] == payloads[1]
    assert good.get_json()["batch_root"] == "0x" + root.hex()
    bad = client.get(f"/patients/{patient.address}/windows/{unanchored.record_id}",
                     headers=bearer(token))
    assert bad.status_code == 502
    assert bad.get_json()["error"] == "tampering_detected"


def test_alerts__k_of_n_irregular_windows__one_alert_that_says_screen(client, chain, store):
    patient, stranger = chain.fund(), chain.fund()
    _, device_id, _ = register_device(client, patient)
    statuses = ["irregular", "regular", "insufficient_data", "irregular", "irregular",
                "irregular", "irregular",  # 5 of the last 6 readable → alert, history restarts
                "irregular", "regular"]
    for i, status in enumerate(statuses):
        start = 1_700_001_000_000 + i * 10_000
        store.put_window(patient.address.lower(), device_id, start,
                         sample_payload(i, device_id=device_id, window_start_ms=start,
                                        status=status))
    token = sign_in(client, patient)
    response = client.get(f"/patients/{patient.address}/alerts", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["windows_examined"] == len(statuses)
    [alert] = body["alerts"]
    assert alert["window_start_ms"] == 1_700_001_000_000 + 6 * 10_000
    assert (alert["irregular_count"], alert["window_count"]) == (5, 6)
    assert alert["kind"] == "episode_started"
    assert "not a diagnosis" in alert["message"]
    assert body["episodes"] == [{"device_id": device_id, "start_ms": alert["window_start_ms"],
                                 "end_ms": None, "ended": None}]
    assert client.get(f"/patients/{patient.address}/alerts",
                      headers=bearer(sign_in(client, stranger))).status_code == 403


def test_windows__another_patients_record_through_my_path__not_found(client, chain, store):
    """A record id is read only under its owner: naming it under one's own address gains
    nothing."""
    victim, intruder = chain.fund(), chain.fund()
    _, device_id, _ = register_device(client, victim)
    ref = store.put_window(victim.address.lower(), device_id, 1_700_300_000_000,
                           sample_payload(0, device_id=device_id,
                                          window_start_ms=1_700_300_000_000))
    response = client.get(f"/patients/{intruder.address}/windows/{ref.record_id}",
                          headers=bearer(sign_in(client, intruder)))
    assert response.status_code == 404
    assert "payload" not in response.get_json()


def test_onboarding__a_device_registered_to_someone_else__409(client, chain, store):
    """Paired once, a device keeps its patient: the code it was paired with is spent (403), and
    even a new code of it (its screen shows one to whoever holds it) pairs it to no one else."""
    owner, squatter = chain.fund(), chain.fund()
    device = DeviceKey.generate()
    response, device_id, body = register_device(client, owner, device=device)
    assert response.status_code == 201
    leaked, _, _ = register_device(client, squatter, device=device, code=body["pairing_code"])
    assert leaked.status_code == 403 and "used before" in leaked.get_json()["message"]
    refused, _, _ = register_device(client, squatter, device=device)
    assert refused.status_code == 409
    assert store.get_device(device_id).owner == owner.address.lower()


def test_profile__signed_name_and_zone__shown_to_the_patient_and_used_for_the_burden(
        client, chain, store):
    patient, doctor = chain.fund(), chain.fund()
    _, device_id, _ = register_device(client, patient)
    message = {"owner": patient.address, "name": "Ada", "timeZone": "Europe/Berlin"}
    body = signed_body(client, patient, "SetProfile", message,
                       {"owner": patient.address, "name": "Ada", "time_zone": "Europe/Berlin"})
    assert client.post("/onboarding/profile", json=body).status_code == 200
    assert store.get_profile(patient.address.lower()).name == "Ada"
    bad_zone = signed_body(client, patient, "SetProfile",
                           {**message, "name": "", "timeZone": "Mars/Olympus"},
                           {"owner": patient.address, "name": "", "time_zone": "Mars/Olympus"})
    refused = client.post("/onboarding/profile", json=bad_zone)
    assert refused.status_code == 400 and "time zone" in refused.get_json()["message"]
    token = sign_in(client, patient)
    profile = client.get(f"/patients/{patient.address}/profile", headers=bearer(token)).get_json()
    assert (profile["name"], profile["time_zone"]) == ("Ada", "Europe/Berlin")

    # 23:59:50 and 00:00:00 in Berlin: two local days, each with its own share
    midnight_berlin = 1_700_002_800_000 - (1_700_002_800_000 % 86_400_000) + 23 * 3_600_000
    for i, status in enumerate(["irregular", "regular", "regular", "insufficient_data"]):
        start = midnight_berlin - 10_000 + i * 10_000
        store.put_window(patient.address.lower(), device_id, start,
                         sample_payload(i, device_id=device_id, window_start_ms=start,
                                        status=status))
    assert link_doctor(client, patient, doctor).status_code == 200
    answer = client.get(f"/patients/{patient.address}/burden",
                        headers=bearer(sign_in(client, doctor))).get_json()
    assert answer["time_zone"] == "Europe/Berlin"
    assert [(d["monitored_s"], d["irregular_s"], d["burden"]) for d in answer["days"]] == \
           [(10.0, 10.0, 1.0), (20.0, 0.0, 0.0)]
    utc = client.get(f"/patients/{patient.address}/burden?tz=UTC", headers=bearer(token))
    assert [d["burden"] for d in utc.get_json()["days"]] == [round(1 / 3, 4)]
    assert client.get(f"/patients/{patient.address}/burden?tz=Nowhere",
                      headers=bearer(token)).status_code == 400
    # a folder of the tz database is no zone (ZoneInfo raised IsADirectoryError: a 500)
    for folder in ("Europe", "Etc", "__pycache__"):
        answer = client.get(f"/patients/{patient.address}/burden?tz={folder}", headers=bearer(token))
        assert answer.status_code == 400 and "time zone" in answer.get_json()["message"]


def test_profile__a_zone_that_names_a_tz_folder__400_before_any_signature(client, chain):
    """The zone is checked before the signature: a folder name gave anyone a 500."""
    owner = chain.fund()
    answer = client.post("/onboarding/profile", json={
        "owner": owner.address, "name": "Ada", "time_zone": "Europe", "nonce": "x",
        "signature": "0x" + "00" * 65})
    assert answer.status_code == 400 and "time zone" in answer.get_json()["message"]


def test_alerts__an_episode_ends_with_an_all_clear(client, chain, store):
    patient = chain.fund()
    _, device_id, _ = register_device(client, patient)
    statuses = ["irregular"] * 6 + ["regular"] * 6
    base = 1_700_003_000_000
    for i, status in enumerate(statuses):
        store.put_window(patient.address.lower(), device_id, base + i * 10_000,
                         sample_payload(i, device_id=device_id, window_start_ms=base + i * 10_000,
                                        status=status))
    body = client.get(f"/patients/{patient.address}/alerts",
                      headers=bearer(sign_in(client, patient))).get_json()
    assert [a["kind"] for a in body["alerts"]] == ["episode_started", "all_clear"]
    assert body["episodes"] == [{"device_id": device_id, "start_ms": base + 5 * 10_000,
                                 "end_ms": base + 11 * 10_000, "ended": "all_clear"}]
    later = client.get(f"/patients/{patient.address}/alerts?since_ms={base + 8 * 10_000}",
                       headers=bearer(sign_in(client, patient))).get_json()
    assert [a["kind"] for a in later["alerts"]] == ["all_clear"]


def test_profile_and_burden__only_the_patient_writes_and_only_patient_or_doctor_read(
        client, chain, store):
    patient, intruder, stranger = chain.fund(), chain.fund(), chain.fund()
    register_device(client, patient)
    message = {"owner": patient.address, "name": "Mallory's pick", "timeZone": "UTC"}
    forged = signed_body(client, intruder, "SetProfile", message,
                         {"owner": patient.address, "name": "Mallory's pick", "time_zone": "UTC"})
    assert client.post("/onboarding/profile", json=forged).status_code == 401
    assert store.get_profile(patient.address.lower()).name is None
    token = sign_in(client, stranger)
    for path in ("burden", "alerts", "profile"):
        response = client.get(f"/patients/{patient.address}/{path}", headers=bearer(token))
        assert response.status_code == 403, (path, response.get_json())


def test_a_windows_later_part__listed_with_it__judged_once(client, chain, store):
    """Readings stored after their window's record (a split brain's second closer) are a later
    part of that window: the list shows both records, but alerts and burden judge the window by
    its first record, as the notification peers emailed — a part screened on its own few
    readings adds no window to the alert rule and no monitored time."""
    patient = chain.fund()
    _, device_id, _ = register_device(client, patient)
    start = 1_700_004_000_000
    whole = sample_payload(0, device_id=device_id, window_start_ms=start, status="regular")
    first = store.put_window(patient.address.lower(), device_id, start,
                             dict(whole, readings=whole["readings"][:6]))
    part, added = store.add_to_window(WindowInput(
        patient.address.lower(), device_id, start,
        dict(whole, readings=whole["readings"], prediction={**whole["prediction"],
                                                            "status": "irregular"})))
    assert added == 4 and part.record_id != first.record_id
    token = sign_in(client, patient)
    listed = client.get(f"/patients/{patient.address}/windows", headers=bearer(token)).get_json()
    assert {w["record_id"]: w["part_of"] for w in listed["windows"]} == {
        first.record_id: None, part.record_id: first.record_id}, "a part names its window"
    alerts = client.get(f"/patients/{patient.address}/alerts", headers=bearer(token)).get_json()
    assert alerts["windows_examined"] == 1
    burden = client.get(f"/patients/{patient.address}/burden?tz=UTC",
                        headers=bearer(token)).get_json()
    assert [(d["monitored_s"], d["irregular_s"]) for d in burden["days"]] == [(10.0, 0.0)]
