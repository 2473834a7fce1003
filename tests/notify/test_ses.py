"""SES v2 backend against moto in server mode on 127.0.0.1 (mail read back from its data API)."""

import email

import boto3
import pytest
from pulseledger_testkit.ports import free_port

from services.notify import (
    Email,
    NotifierRejected,
    NotifierUnavailable,
    NotifySettings,
    message_id_for,
    open_notifier,
)

SENDER = "notifications@pulseledger.test"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def ses_settings(url, sender=SENDER):
    return NotifySettings(backend="ses", ses_endpoint_url=url, ses_region="eu-west-1",
                          sender=sender, ses_timeout_s=2)


@pytest.fixture
def verified_sender(moto_server):
    client = boto3.client("sesv2", region_name="eu-west-1", endpoint_url=moto_server.url)
    client.create_email_identity(EmailIdentity=SENDER)
    return SENDER


def test_ses__send__moto_records_raw_message_with_both_bodies(moto_server, verified_sender):
    key = "ses-send-1"
    open_notifier(ses_settings(moto_server.url)).send(Email(
        to=("patient@example.org",), subject="Purchase paid", text="Your data was bought.",
        html="<p>Your data was bought.</p>", message_id=message_id_for(key)))
    sent = [email.message_from_string(item["raw_data"]) for item in moto_server.sent_raw_messages()
            if "raw_data" in item]
    ours = [message for message in sent if message["Message-ID"] == message_id_for(key)]
    assert len(ours) == 1
    assert ours[0]["To"] == "patient@example.org"
    assert [item["destinations"] for item in moto_server.sent_raw_messages()
            if message_id_for(key) in item["raw_data"]] == [["patient@example.org"]]
    assert {part.get_content_type() for part in ours[0].walk()} >= {"text/plain", "text/html"}


def test_ses__unverified_sender__rejected(moto_server):
    notifier = open_notifier(ses_settings(moto_server.url, sender="stranger@elsewhere.test"))
    with pytest.raises(NotifierRejected):
        notifier.send(Email(to=("p@example.org",), subject="s", text="t", html=None,
                            message_id=message_id_for("ses-reject")))


def test_ses__endpoint_down__unavailable():
    notifier = open_notifier(ses_settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(NotifierUnavailable):
        notifier.send(Email(to=("p@example.org",), subject="s", text="t", html=None,
                            message_id=message_id_for("ses-down")))
