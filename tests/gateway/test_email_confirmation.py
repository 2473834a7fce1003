"""An address a patient names gets alerts only once its mailbox confirmed (double opt-in): the
gateway mails a link (to the outbox here, as in `make up`), the secret comes back once; removals
take effect at once; the mail a stranger's address can be made to receive is bounded per patient
and per address, and confirm attempts per client address."""

import hashlib

import pytest

from services.notify import NotifySettings
from services.notify.outbox import read_outbox
from services.notify.stop_links import stop_token
from services.records import Doctor
from tests.gateway.conftest import bearer, sign_in
from tests.gateway.onboarding_helpers import (
    confirm,
    link_doctor,
    mailed_secrets,
    set_contacts,
)


def test_named_addresses_wait__each_joins_when_its_link_comes_back(client, chain, store, outbox):
    patient = chain.fund()
    owner = patient.address.lower()
    response = set_contacts(client, patient, ["me@home.example", "backup@home.example"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() | {"owner": None} == {
        "owner": None, "contacts": 0, "waiting": 2, "confirmations_sent": 2}
    assert store.get_contacts(owner) == [], "nothing is mailed alerts before it confirmed"

    profile = client.get(f"/patients/{patient.address}/profile",
                         headers=bearer(sign_in(client, patient))).get_json()
    assert profile["contacts"] == []
    assert profile["waiting"] == [{"email": "backup@home.example", "purpose": "contact"},
                                  {"email": "me@home.example", "purpose": "contact"}]

    mail = [m for m in read_outbox(outbox) if m["To"] == "me@home.example"][-1]
    assert mail["Subject"] == "Confirm your address for PulseLedger alerts"
    text = mail.get_content()
    assert owner not in text.lower(), "the link's email names no patient"
    (secret,) = mailed_secrets(outbox, "me@home.example")
    row = store.tables.get("email_confirmations", hashlib.sha256(secret.encode()).hexdigest())
    assert row["email"] == "me@home.example", "the store keeps the secret's digest, not it"

    confirmed = confirm(client, secret)
    assert confirmed.status_code == 200
    assert confirmed.get_json() == {"owner": patient.address, "purpose": "contact",
                                    "email": "me@home.example"}
    assert store.get_contacts(owner) == ["me@home.example"]
    again = confirm(client, secret)
    assert again.status_code == 404 and "used or expired" in again.get_json()["message"]
    assert store.get_contacts(owner) == ["me@home.example"]


def test_a_malformed_or_unknown_secret__refused(client):
    assert confirm(client, "short").status_code == 400
    assert client.post("/onboarding/emails/confirm", json={}).status_code == 400
    assert confirm(client, "A" * 43).status_code == 404


def test_an_address_removed__stops_at_once__its_waiting_link_is_void(client, chain, store, outbox):
    patient = chain.fund()
    owner = patient.address.lower()
    set_contacts(client, patient, ["keep@home.example", "drop@home.example"])
    assert confirm(client, mailed_secrets(outbox, "keep@home.example")[-1]).status_code == 200
    set_contacts(client, patient, ["late@home.example"])
    assert store.get_contacts(owner) == [], "a removed address gets nothing from now on"
    assert confirm(client, mailed_secrets(outbox, "drop@home.example")[-1]).status_code == 404
    assert [p.email for p in store.pending_emails(owner, 0)] == ["late@home.example"]


def test_saving_again__a_waiting_address_is_mailed_again_only_after_a_while(
        client, app_with, chain, store, outbox):
    patient = chain.fund()
    set_contacts(client, patient, ["slow@home.example"])
    again = set_contacts(client, patient, ["slow@home.example"])
    assert again.get_json()["confirmations_sent"] == 0
    assert len(mailed_secrets(outbox, "slow@home.example")) == 1

    eager = app_with(email_resend_after_s=0).test_client()
    assert set_contacts(eager, patient, ["slow@home.example"]).get_json()["confirmations_sent"] == 1
    first, second = mailed_secrets(outbox, "slow@home.example")
    assert confirm(client, first).status_code == 404, "the newer link replaced it"
    assert confirm(client, second).status_code == 200
    assert store.get_contacts(patient.address.lower()) == ["slow@home.example"]


def test_a_doctors_address__confirmed_before_alerts__kept_when_relinked(
        client, chain, store, outbox):
    patient, doctor, other = chain.fund(), chain.fund(), chain.fund()
    owner = patient.address.lower()
    linked = link_doctor(client, patient, doctor, "house@clinic.example")
    assert linked.get_json()["email_confirmed"] is False
    assert store.get_doctor(owner).address == doctor.address.lower(), "access at once"
    assert store.get_doctor(owner).email is None, "mail only once confirmed"
    assert confirm(client, mailed_secrets(outbox, "house@clinic.example")[-1]).get_json()[
        "purpose"] == "doctor"
    assert store.get_doctor(owner).email == "house@clinic.example"

    relinked = link_doctor(client, patient, doctor, "house@clinic.example")
    assert relinked.get_json()["email_confirmed"] is True
    assert len(mailed_secrets(outbox, "house@clinic.example")) == 1, "not asked again"

    link_doctor(client, patient, other, "wilson@clinic.example")
    link_doctor(client, patient, doctor, "house@clinic.example")  # back: asked again
    assert store.get_doctor(owner).email is None
    stale = mailed_secrets(outbox, "wilson@clinic.example")[-1]
    assert confirm(client, stale).status_code == 404, "that doctor is no longer linked"
    assert confirm(client, mailed_secrets(outbox, "house@clinic.example")[-1]).status_code == 200
    assert store.get_doctor(owner).email == "house@clinic.example"


def test_confirmation_mail_per_patient__bounded(app_with, chain, store):
    gateway = app_with(confirmations_per_owner=2).test_client()
    patient = chain.fund()
    refused = set_contacts(gateway, patient, ["a@x.example", "b@x.example", "c@x.example"])
    assert refused.status_code == 429, refused.get_json()
    assert "confirmation emails for this patient" in refused.get_json()["message"]
    assert refused.headers["Retry-After"]
    assert store.pending_emails(patient.address.lower(), 0) == [], "refused whole: none mailed"
    assert set_contacts(gateway, patient, ["a@x.example", "b@x.example"]).status_code == 200


def test_confirmation_mail_per_address__bounded_across_patients(app_with, chain):
    gateway = app_with(confirmations_per_address=2).test_client()
    for _ in range(2):
        assert set_contacts(gateway, chain.fund(), ["victim@x.example"]).status_code == 200
    flooded = set_contacts(gateway, chain.fund(), ["Victim@X.example"])
    assert flooded.status_code == 429
    assert "confirmation emails to this address" in flooded.get_json()["message"]


def test_confirm_attempts_per_client__bounded(app_with):
    gateway = app_with(confirms_per_client=2).test_client()
    assert [confirm(gateway, "B" * 43).status_code for _ in range(3)] == [404, 404, 429]


def test_mail_system_down__503__nothing_left_waiting(app_with, chain, store, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    gateway = app_with(notify=NotifySettings(outbox_dir=not_a_folder)).test_client()
    patient = chain.fund()
    response = set_contacts(gateway, patient, ["me@home.example"])
    assert response.status_code == 503
    assert "mail system" in response.get_json()["message"]
    assert store.pending_emails(patient.address.lower(), 0) == []


@pytest.mark.parametrize("body", [{"token": 5}, {"token": "A" * 44}, {"token": "A" * 42 + "!"}])
def test_confirm_body_malformed__400(client, body):
    assert client.post("/onboarding/emails/confirm", json=body).status_code == 400


def stop(client, owner: str, email: str, token: str):
    return client.post("/onboarding/emails/stop", json={"owner": owner, "email": email,
                                                        "token": token})


def test_an_alert_emails_stop_link__its_recipient_gets_no_more(client, chain, store, outbox):
    """The link the notification peers put at the end of every alert email
    (services/notify/stop_links.py): the contact leaves the list, a doctor keeps access with no
    email, a link still waiting for that address dies; for that patient and address only."""
    patient, doctor = chain.fund(), chain.fund()
    owner = patient.address.lower()
    store.set_contacts(owner, ["me@home.example", "sister@home.example"])
    store.link_doctor(owner, doctor.address.lower(), "gp@clinic.example")

    stopped = stop(client, patient.address, "sister@home.example",
                   stop_token(store, owner, "sister@home.example"))
    assert stopped.status_code == 200 and stopped.get_json()["stopped"] is True
    assert store.get_contacts(owner) == ["me@home.example"]
    again = stop(client, patient.address, "sister@home.example",
                 stop_token(store, owner, "sister@home.example"))
    assert again.get_json()["stopped"] is False, "it gets nothing already"

    assert stop(client, patient.address, "gp@clinic.example",
                stop_token(store, owner, "gp@clinic.example")).get_json()["stopped"] is True
    assert store.get_doctor(owner) == Doctor(doctor.address.lower(), None), "access stays"

    set_contacts(client, patient, ["me@home.example", "new@home.example"])
    stop(client, patient.address, "new@home.example", stop_token(store, owner, "new@home.example"))
    assert confirm(client, mailed_secrets(outbox, "new@home.example")[-1]).status_code == 404
    assert store.get_contacts(owner) == ["me@home.example"]


def test_a_stop_link_for_another_patient_or_address__refused(client, chain, store):
    patient, other = chain.fund(), chain.fund()
    owner = patient.address.lower()
    store.set_contacts(owner, ["me@home.example"])
    mine = stop_token(store, owner, "me@home.example")
    assert stop(client, other.address, "me@home.example", mine).status_code == 403
    assert stop(client, patient.address, "you@home.example", mine).status_code == 403
    assert stop(client, patient.address, "me@home.example", "0" * 32).status_code == 403
    assert stop(client, patient.address, "me@home.example", mine[:-1]).status_code == 400
    assert store.get_contacts(owner) == ["me@home.example"]
