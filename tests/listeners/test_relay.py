"""The relay end to end in-process against the real PulseLedger on anvil and a real SMTP server,
contacts from the real record store; polls are driven by the test."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pulseledger_testkit.flows import HEART_RATE, PREDICTIONS, Flow

from services.listeners.state import DEAD, SENT
from services.notify import message_id_for
from services.notify.stop_links import token_matches

from .harness import build_daemon, smtp_notifier

SUBJECT_REFUND = "PulseLedger: You can reclaim a payment"


@pytest.fixture
def relay(pulse, anvil, pulse_contacts, smtp_server, tmp_path):
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    yield daemon
    daemon.close()


def subjects_to(smtp_server):
    return sorted((item.message["Subject"], tuple(item.rcpt_tos)) for item in smtp_server.received)


def test_relay__consent_purchase_access__each_email_once_to_the_right_person(
        pulse, anvil, relay, smtp_server):
    flow = Flow(pulse)
    patient, requester = pulse.patients[0], pulse.requesters[0]
    request_id = flow.request(patient, requester)
    flow.pulse.transact(flow.c.approve(request_id), patient)
    relay.step()
    # One block per transaction: neither block has 3 blocks on top of it yet.
    assert smtp_server.received == []
    purchase_id = flow.buy(patient, requester, request_id)
    record = flow.add_record(patient, HEART_RATE, b"\x09" * 32)
    flow.pulse.transact(flow.c.logAccess(record, purchase_id), requester)
    anvil.mine(3)
    relay.step()
    relay.step()  # a second poll finds nothing new: no email twice
    assert subjects_to(smtp_server) == sorted([
        ("PulseLedger: New data access request", ("patient0@example.org",)),
        ("PulseLedger: Your access request was approved", ("requester0@example.org",)),
        ("PulseLedger: Your data was purchased", ("patient0@example.org",)),
        ("PulseLedger: Your record was accessed", ("patient0@example.org",)),
    ])
    assert sorted(item.message_id for item in smtp_server.received) == sorted(
        message_id_for(key) for key in pulse.emailing_keys())
    store = relay.units[0].store
    assert store.handled_positions() == pulse.log_keys()
    assert {row.status for row in store.effects()} == {SENT}
    body = next(item for item in smtp_server.received
                if item.message["Subject"].endswith("purchased")).message
    text = body.get_body(("plain",)).get_content()
    assert "0.001 ETH" in text and "heart-rate windows" in text


def test_relay__denied__requester_told(pulse, anvil, relay, smtp_server):
    flow = Flow(pulse)
    request_id = flow.request(pulse.patients[1], pulse.requesters[1])
    pulse.transact(flow.c.deny(request_id), pulse.patients[1])
    anvil.mine(3)
    relay.step()
    assert ("PulseLedger: Your access request was denied", ("requester1@example.org",)) in \
        subjects_to(smtp_server)


def test_relay__unknown_recipient__dead_letter_with_reason(pulse, anvil, smtp_server, tmp_path):
    from pulseledger_testkit.ledger import onboard_contacts

    nobody_onboarded = onboard_contacts(pulse, tmp_path / "empty", only=[])
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", nobody_onboarded,
                          smtp_notifier(smtp_server.port))
    Flow(pulse).request(pulse.patients[0], pulse.requesters[0])
    anvil.mine(3)
    daemon.step()
    [row] = daemon.units[0].store.effects()
    assert row.status == DEAD and "no contact email" in row.last_error
    assert smtp_server.received == []
    daemon.close()
    nobody_onboarded.close()


def test_relay__revoked_while_paid__buyer_told_refund_claimable(pulse, anvil, relay, smtp_server):
    flow = Flow(pulse)
    patient, buyer = pulse.patients[1], pulse.requesters[2]
    request_id = flow.request(patient, buyer)
    pulse.transact(flow.c.approve(request_id), patient)
    purchase_id = flow.buy(patient, buyer, request_id)
    pulse.transact(flow.c.revoke(request_id), patient)
    anvil.mine(3)
    relay.step()
    refunds = [item for item in smtp_server.received if item.message["Subject"] == SUBJECT_REFUND]
    assert [item.rcpt_tos for item in refunds] == [["requester2@example.org"]]
    text = refunds[0].message.get_body(("plain",)).get_content()
    assert "revoked" in text and f"#{purchase_id}" in text
    pulse.transact(flow.c.reclaim(purchase_id), buyer)  # the email told the truth
    anvil.mine(3)
    relay.step()
    assert len([i for i in smtp_server.received if i.message["Subject"] == SUBJECT_REFUND]) == 1


def test_relay__deliver_by_passed__buyer_told_once(pulse, anvil, relay, smtp_server):
    flow = Flow(pulse)
    patient, buyer = pulse.patients[0], pulse.requesters[1]
    request_id = flow.request(patient, buyer)
    pulse.transact(flow.c.approve(request_id), patient)
    late = flow.buy(patient, buyer, request_id, HEART_RATE)
    delivered = flow.buy(patient, buyer, request_id, PREDICTIONS)
    pulse.transact(flow.c.confirmDelivery(delivered), flow.gateway)
    anvil.mine(3)
    relay.step()
    assert SUBJECT_REFUND not in [item.message["Subject"] for item in smtp_server.received]
    anvil.rpc("evm_increaseTime", 3600 + 60)  # past the delivery window
    anvil.mine(4)
    relay.step()
    anvil.mine(2)
    relay.step()
    refunds = [item for item in smtp_server.received if item.message["Subject"] == SUBJECT_REFUND]
    assert len(refunds) == 1  # only the undelivered purchase, and only once
    assert f"#{late}" in refunds[0].message.get_body(("plain",)).get_content()
    pulse.transact(flow.c.reclaim(late), buyer)  # and it really is reclaimable


def test_relay__digest_mode__one_email_for_many_accesses(pulse, anvil, pulse_contacts,
                                                        smtp_server, tmp_path):
    flow = Flow(pulse)
    patient, buyer = pulse.patients[2], pulse.requesters[0]
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port), access_notifications="digest",
                          digest_interval_s=0)
    request_id = flow.request(patient, buyer)
    pulse.transact(flow.c.approve(request_id), patient)
    purchase_id = flow.buy(patient, buyer, request_id)
    for index in range(4):
        record = flow.add_record(patient, HEART_RATE, bytes([index + 1]) * 32)
        pulse.transact(flow.c.logAccess(record, purchase_id), buyer)
    anvil.mine(3)
    daemon.step()
    daemon.step()
    digests = [item for item in smtp_server.received if "accesses" in item.message["Subject"]]
    assert [(d.message["Subject"], d.rcpt_tos) for d in digests] == [
        ("PulseLedger: 4 accesses to your records", ["patient2@example.org"])]
    assert not [item for item in smtp_server.received
                if item.message["Subject"] == "PulseLedger: Your record was accessed"]
    daemon.close()


def test_relay__log_not_matching_the_abi__dead_lettered_then_replayed_after_the_fix(
        pulse, anvil, pulse_contacts, smtp_server, tmp_path, monkeypatch):
    """Bad input: the ABI in the deployments file disagrees with the chain about one event
    (ConsentRequested's requestId not indexed). Those logs are dead-lettered with the decoding
    error; the cursor moves on and the other events are emailed."""
    import json

    from click.testing import CliRunner
    from pulseledger_testkit.ledger import records_env

    from services.listeners.cli import listen
    from services.listeners.state import UNPROCESSABLE

    abi_file = pulse.deployments_file.parent / "abi" / "PulseLedger.json"
    document = json.loads(abi_file.read_text())
    for entry in document["abi"]:
        if entry.get("type") == "event" and entry["name"] == "ConsentRequested":
            entry["inputs"][0]["indexed"] = False
    abi_file.write_text(json.dumps(document))
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    flow = Flow(pulse)
    request_id = flow.request(pulse.patients[0], pulse.requesters[0])
    pulse.transact(flow.c.approve(request_id), pulse.patients[0])
    anvil.mine(3)
    daemon.step()
    store = daemon.units[0].store
    [dead] = store.effects(DEAD)
    assert dead.kind == UNPROCESSABLE
    assert dead.last_error.startswith("LogTopicError")  # the decoding error, for the operator
    assert store.cursor().block_number == pulse.w3.eth.block_number - 3
    assert store.handled_positions() == pulse.log_keys()
    assert [item.message["Subject"] for item in smtp_server.received] == [
        "PulseLedger: Your access request was approved"]
    assert store.requeue_dead(now=0) == 0  # not an email: fix the ABI, then rewind
    daemon.close()

    # The operator fixes the ABI and rewinds with the CLI; the event is read again and emailed,
    # the approval is not emailed twice.
    abi_file.write_text(json.dumps({"abi": pulse.contract.abi}))
    for name, value in {**records_env(tmp_path), "PULSELEDGER_CHAIN_RPC_URL": anvil.url,
                        "PULSELEDGER_CHAIN_DEPLOYMENTS": str(pulse.deployments_file),
                        "PULSELEDGER_LISTENERS_STATE_DIR": str(tmp_path / "state")}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(listen, ["rewind", "relay", "--to-block",
                                         str(pulse.deployment_block)])
    assert result.exit_code == 0, result.output
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    daemon.step()
    assert sorted(item.message["Subject"] for item in smtp_server.received) == [
        "PulseLedger: New data access request", "PulseLedger: Your access request was approved"]
    [incident] = daemon.units[0].store.incidents()
    assert incident["kind"] == "rewind" and incident["rolled_back_events"] == 2
    daemon.close()


def test_relay__handler_fails_on_one_event__dead_lettered_and_the_rest_flows(
        pulse, anvil, pulse_contacts, smtp_server, tmp_path, monkeypatch):
    """A handler bug on one event must not stop the daemon on it forever."""
    from services.listeners.relay import RelayHandler
    from services.listeners.state import UNPROCESSABLE

    original = RelayHandler.apply

    def fails_on_approvals(self, tx, event):
        if event.name == "ConsentApproved":
            raise RuntimeError("handler bug")
        return original(self, tx, event)

    monkeypatch.setattr(RelayHandler, "apply", fails_on_approvals)
    daemon = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    flow = Flow(pulse)
    request_id = flow.request(pulse.patients[0], pulse.requesters[0])
    pulse.transact(flow.c.approve(request_id), pulse.patients[0])
    anvil.mine(3)
    daemon.step()
    store = daemon.units[0].store
    [dead] = store.effects(DEAD)
    assert dead.kind == UNPROCESSABLE and dead.last_error == "RuntimeError: handler bug"
    assert [item.message["Subject"] for item in smtp_server.received] == [
        "PulseLedger: New data access request"]
    assert store.cursor().block_number == pulse.w3.eth.block_number - 3
    daemon.close()


def test_relay__each_address_its_own_email__each_with_its_own_stop_link(
        pulse, anvil, relay, pulse_contacts, smtp_server):
    """An account with two addresses: one email each (never a shared To: line), the first with
    the effect's Message-ID and the second with its own, each ending with the link that stops
    emails to that address only (services/notify/stop_links.py, honoured by the gateway)."""
    patient, requester = pulse.patients[0], pulse.requesters[0]
    pulse_contacts.set_contacts(patient.lower(), ["patient0@example.org", "kin@example.org"])
    Flow(pulse).request(patient, requester)
    anvil.mine(3)
    relay.step()
    asked = [item for item in smtp_server.received
             if item.message["Subject"] == "PulseLedger: New data access request"]
    assert sorted(tuple(item.rcpt_tos) for item in asked) == [("kin@example.org",),
                                                            ("patient0@example.org",)]
    [key] = [k for k in pulse.emailing_keys()
             if message_id_for(k) in {item.message_id for item in asked}]
    assert {item.rcpt_tos[0]: item.message_id for item in asked} == {
        "patient0@example.org": message_id_for(key),
        "kin@example.org": message_id_for(f"{key}\nkin@example.org")}
    for item in asked:
        (link,) = re.findall(r"https?://\S+/stop-emails\?\S+",
                             item.message.get_body(("plain",)).get_content())
        query = parse_qs(urlsplit(link).fragment.split("?", 1)[1])
        assert query["email"] == item.rcpt_tos and query["owner"] == [patient.lower()]
        assert token_matches(pulse_contacts, patient, item.rcpt_tos[0], query["token"][0])
        # the same stop for the mail client's own button (RFC 8058)
        one_click = urlsplit(item.message["List-Unsubscribe"].strip().strip("<>"))
        assert one_click.path == "/onboarding/emails/unsubscribe"
        assert parse_qs(one_click.query) == query
        assert item.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
