"""The mail system down: effects retried with backoff, then dead-lettered with the error; nothing
lost (a dead letter is requeued and delivered once the server is back)."""

import boto3
import pytest
from pulseledger_testkit.flows import Flow
from pulseledger_testkit.moto_server import MotoServer
from pulseledger_testkit.ports import free_port

from services.listeners.email_delivery import Backoff
from services.listeners.state import DEAD, SENT
from services.notify import NotifySettings, message_id_for, open_notifier

from .harness import build_daemon, smtp_notifier


def test_backoff__grows_then_caps():
    backoff = Backoff(initial_s=1, multiplier=2, max_s=5)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def _drive_until_settled(daemon, steps=200):
    store = daemon.units[0].store
    for _ in range(steps):
        daemon.step()
        if store.count_effects("pending", "sending") == 0:
            return
        daemon.stop.wait(0.01)
    raise AssertionError("effects did not settle")


def test_smtp_down__retried_then_dead_lettered__requeued_after_recovery(pulse, anvil, pulse_contacts,
                                                                       smtp_server, tmp_path):
    ledger, contacts = pulse, pulse_contacts
    port = smtp_server.port
    smtp_server.stop()
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(port), max_attempts=3)
    for patient in ledger.patients:
        Flow(ledger).request(patient, ledger.requesters[0])
    anvil.mine(3)
    _drive_until_settled(daemon)
    store = daemon.units[0].store
    dead = store.effects(DEAD)
    assert len(dead) == 3
    assert all(row.attempts == 3 and "SMTP unreachable" in row.last_error for row in dead)

    smtp_server.start()
    assert store.requeue_dead(now=0) == 3
    _drive_until_settled(daemon)
    assert {row.status for row in store.effects()} == {SENT}
    assert smtp_server.message_id_counts() == {message_id_for(k): 1 for k in ledger.emailing_keys()}
    daemon.close()


def test_smtp_back_before_budget__delivered_without_dead_letter(pulse, anvil, pulse_contacts,
                                                                smtp_server, tmp_path):
    ledger, contacts = pulse, pulse_contacts
    port = smtp_server.port
    smtp_server.stop()
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(port), max_attempts=1000)
    Flow(ledger).request(ledger.patients[0], ledger.requesters[0])
    anvil.mine(3)
    store = daemon.units[0].store
    daemon.step()
    while store.effects()[0].attempts < 2:
        daemon.step()
    smtp_server.start()
    _drive_until_settled(daemon)
    [row] = store.effects()
    assert row.status == SENT and row.attempts >= 3
    assert len(smtp_server.received) == 1
    daemon.close()


@pytest.fixture
def aws_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_ses_down__dead_lettered__delivered_by_ses_after_requeue(pulse, anvil, pulse_contacts, tmp_path,
                                                                aws_credentials):
    ledger, contacts = pulse, pulse_contacts
    """SES through moto in server mode: first an endpoint where nothing listens, then moto."""
    sender = "notifications@pulseledger.test"
    moto = MotoServer()
    settings = NotifySettings(backend="ses", ses_endpoint_url=moto.url, ses_region="eu-west-1",
                              sender=sender, ses_timeout_s=2)
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          open_notifier(settings), max_attempts=2)
    Flow(ledger).request(ledger.patients[0], ledger.requesters[0])
    anvil.mine(3)
    _drive_until_settled(daemon)
    store = daemon.units[0].store
    [row] = store.effects(DEAD)
    assert "SES unreachable" in row.last_error
    moto.start()
    try:
        boto3.client("sesv2", region_name="eu-west-1", endpoint_url=moto.url).create_email_identity(
            EmailIdentity=sender)
        store.requeue_dead(now=0)
        _drive_until_settled(daemon)
        [sent] = moto.sent_raw_messages()
        assert message_id_for(row.key) in sent["raw_data"]
        assert sent["destinations"] == ["patient0@example.org"]
    finally:
        moto.stop()
        daemon.close()


def test_smtp_rejects__dead_lettered_at_once(pulse, anvil, pulse_contacts, smtp_server, tmp_path):
    ledger, contacts = pulse, pulse_contacts
    smtp_server.handler.refuse_with = "554 5.7.1 policy"
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port), max_attempts=5)
    Flow(ledger).request(ledger.patients[0], ledger.requesters[0])
    anvil.mine(3)
    _drive_until_settled(daemon)
    [row] = daemon.units[0].store.effects()
    assert row.status == DEAD and row.attempts == 1 and "rejected" in row.last_error
    daemon.close()


def test_free_port_has_no_smtp_server():
    # guards the premise of the "down" tests: a fresh free port refuses connections
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", free_port()), timeout=1):
        pass
