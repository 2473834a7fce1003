"""The relay end to end in-process: real anvil, real SMTP server, polls driven by the test."""

from services.listeners.state import DEAD, SENT
from services.notify import message_id_for

from .harness import build_daemon, smtp_notifier


def test_relay__consent_flow__each_email_once_to_the_right_person(ledger, anvil, contacts,
                                                                   smtp_server, tmp_path):
    c = ledger.contract.functions
    patient, requester = ledger.patients[0], ledger.requesters[0]
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port))
    ledger.transact(c.requestConsent(patient, 1, 1, 2**39), requester)
    ledger.transact(c.approve(1, requester), patient)
    ledger.transact(c.purchase(1, patient, 0, 2**39), requester, value=10**15)
    ledger.transact(c.logAccess(patient, b"\x01" * 32, 256), requester)
    ledger.transact(c.setPrice(0, 5), patient)
    daemon.step()
    # One block per transaction: only the first two have 3 blocks on top of them yet.
    assert [item.message["Subject"] for item in smtp_server.received] == [
        "PulseLedger: New data access request", "PulseLedger: Your access request was approved"]
    anvil.mine(3)
    daemon.step()
    daemon.step()  # a second poll finds nothing new: no email twice
    received = smtp_server.received
    by_subject = {item.message["Subject"]: item.rcpt_tos for item in received}
    assert by_subject == {
        "PulseLedger: New data access request": ["patient0@example.org"],
        "PulseLedger: Your access request was approved": ["requester0@example.org"],
        "PulseLedger: Your data was purchased": ["patient0@example.org"],
        "PulseLedger: Your record was accessed": ["patient0@example.org"],
    }
    assert sorted(item.message_id for item in received) == sorted(
        message_id_for(key) for key in ledger.emailing_keys())
    unit = daemon.units[0]
    assert unit.store.handled_positions() == ledger.log_keys()
    assert {row.status for row in unit.store.effects()} == {SENT}
    daemon.close()


def test_relay__unknown_recipient__dead_letter_with_reason(ledger, anvil, smtp_server, tmp_path):
    from pulseledger_testkit.ledger import DictContacts

    c = ledger.contract.functions
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", DictContacts({}),
                          smtp_notifier(smtp_server.port))
    ledger.transact(c.requestConsent(ledger.patients[0], 1, 1, 2**39), ledger.requesters[0])
    anvil.mine(3)
    daemon.step()
    [row] = daemon.units[0].store.effects()
    assert row.status == DEAD and "no contact email" in row.last_error
    assert smtp_server.received == []
    daemon.close()


def test_relay__revoked_while_paid__buyer_told_refund_claimable(ledger, anvil, contacts,
                                                                smtp_server, tmp_path):
    c = ledger.contract.functions
    patient, buyer = ledger.patients[1], ledger.requesters[2]
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port))
    ledger.transact(c.requestConsent(patient, 1, 1, 2**39), buyer)
    ledger.transact(c.purchase(1, patient, 0, 2**39), buyer, value=10**15)
    ledger.transact(c.revoke(1, buyer), patient)
    anvil.mine(3)
    daemon.step()
    refunds = [item for item in smtp_server.received
               if item.message["Subject"] == "PulseLedger: You can reclaim a payment"]
    assert [item.rcpt_tos for item in refunds] == [["requester2@example.org"]]
    assert "revoked" in refunds[0].message.get_body(("plain",)).get_content()
    daemon.close()


def test_relay__deliver_by_passed__buyer_told_once(ledger, anvil, contacts, smtp_server, tmp_path):
    c = ledger.contract.functions
    patient, buyer = ledger.patients[0], ledger.requesters[1]
    now = ledger.w3.eth.get_block("latest")["timestamp"]
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port))
    ledger.transact(c.requestConsent(patient, 1, 1, 2**39), buyer)
    ledger.transact(c.purchase(1, patient, 0, now + 100), buyer, value=10**15)
    ledger.transact(c.purchase(1, patient, 1, now + 100), buyer, value=10**15)
    ledger.transact(c.confirmDelivery((1 << 8) | 1, patient, 10**15), patient)
    anvil.mine(3)
    daemon.step()
    subjects = [item.message["Subject"] for item in smtp_server.received]
    assert "PulseLedger: You can reclaim a payment" not in subjects
    anvil.rpc("evm_increaseTime", 200)
    anvil.mine(4)
    daemon.step()
    anvil.mine(2)
    daemon.step()
    refunds = [item for item in smtp_server.received
               if item.message["Subject"] == "PulseLedger: You can reclaim a payment"]
    assert len(refunds) == 1  # only the undelivered purchase, and only once
    assert f"#{1 << 8}" in refunds[0].message.get_body(("plain",)).get_content()
    daemon.close()


def test_relay__digest_mode__one_email_for_many_accesses(ledger, anvil, contacts, smtp_server,
                                                        tmp_path):
    c = ledger.contract.functions
    patient, buyer = ledger.patients[2], ledger.requesters[0]
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port), access_notifications="digest",
                          digest_interval_s=0)
    for index in range(4):
        ledger.transact(c.logAccess(patient, bytes([index]) * 32, 256), buyer)
    anvil.mine(3)
    daemon.step()
    daemon.step()
    [digest] = smtp_server.received
    assert digest.message["Subject"] == "PulseLedger: 4 accesses to your records"
    assert digest.rcpt_tos == ["patient2@example.org"]
    daemon.close()
