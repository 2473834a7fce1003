"""The buyer is told a refund is claimable when chain time alone makes a purchase reclaimable: its
consent's period ended before delivery (no event marks that moment, a scan of open purchases at each
confirmed block's time does). Real PulseLedger on anvil, real SMTP server, real record store."""

import pytest
from pulseledger_testkit.flows import HEART_RATE, PREDICTIONS, Flow

from .harness import build_daemon, smtp_notifier

SUBJECT_REFUND = "PulseLedger: You can reclaim a payment"
CONSENT_S = 600  # the consent period ends well before the delivery window (3600 s)


def refunds(smtp_server):
    return [item for item in smtp_server.received if item.message["Subject"] == SUBJECT_REFUND]


def text_of(item) -> str:
    return item.message.get_body(("plain",)).get_content()


@pytest.fixture
def open_relay(pulse, anvil, pulse_contacts, smtp_server, tmp_path):
    """A relay on one state folder; call again for a restarted one (the previous is closed)."""
    opened = []

    def start():
        if opened:
            opened[-1].close()
        opened.append(build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                                   smtp_notifier(smtp_server.port)))
        return opened[-1]

    yield start
    opened[-1].close()


def open_purchases(state_dir) -> list[int]:
    """The purchases the relay's fold holds (its state file, read beside it)."""
    import sqlite3

    rows = []
    for path in state_dir.glob("*.sqlite"):
        db = sqlite3.connect(path)
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'relay_purchases'").fetchone():
            rows += [int(p) for (p,) in db.execute("SELECT purchase_id FROM relay_purchases")]
        db.close()
    return sorted(rows)


def test_refund_scan__consent_period_ended_before_delivery__buyer_told_once(
        pulse, anvil, open_relay, smtp_server, tmp_path):
    relay = open_relay()
    flow = Flow(pulse)
    patient, buyer = pulse.patients[0], pulse.requesters[1]
    request_id = flow.approved_request(patient, buyer, lasts_s=CONSENT_S)
    undelivered = flow.buy(patient, buyer, request_id, HEART_RATE)
    delivered = flow.buy(patient, buyer, request_id, PREDICTIONS)
    pulse.transact(flow.c.confirmDelivery(delivered), flow.gateway)
    anvil.mine(3)
    relay.step()
    assert refunds(smtp_server) == []  # consent in force, delivery window open
    assert open_purchases(tmp_path / "state") == [undelivered]  # a delivered one is settled

    anvil.rpc("evm_increaseTime", CONSENT_S + 60)  # past validUntil, still before deliverBy
    anvil.mine(4)
    relay.step()
    [notice] = refunds(smtp_server)
    assert notice.rcpt_tos == ["requester1@example.org"]
    assert f"#{undelivered}" in text_of(notice) and "period ended" in text_of(notice)
    flow.c.reclaim(undelivered).call({"from": buyer})  # the contract agrees: it would not revert

    anvil.rpc("evm_increaseTime", 3600)  # now past deliverBy too: the same purchase, no second email
    anvil.mine(4)
    relay.step()
    assert len(refunds(smtp_server)) == 1


def test_refund_scan__restarted_relay__notices_once_from_its_saved_state(
        pulse, anvil, open_relay, smtp_server):
    flow = Flow(pulse)
    patient, buyer = pulse.patients[1], pulse.requesters[0]
    request_id = flow.approved_request(patient, buyer, lasts_s=CONSENT_S)
    purchase_id = flow.buy(patient, buyer, request_id)
    anvil.mine(3)
    open_relay().step()  # the purchase is folded while its consent is in force
    assert refunds(smtp_server) == []

    anvil.rpc("evm_increaseTime", CONSENT_S + 60)  # the period ends while the relay is down
    anvil.mine(4)
    open_relay().step()
    open_relay().step()  # restarted again: the notice is not sent twice
    assert [text_of(item).count(f"#{purchase_id}") for item in refunds(smtp_server)] == [1]


def test_refund_scan__revoked_then_period_ended__one_notice_saying_revoked(
        pulse, anvil, open_relay, smtp_server):
    relay = open_relay()
    flow = Flow(pulse)
    patient, buyer = pulse.patients[2], pulse.requesters[2]
    request_id = flow.approved_request(patient, buyer, lasts_s=CONSENT_S)
    flow.buy(patient, buyer, request_id)
    pulse.transact(flow.c.revoke(request_id), patient)
    anvil.mine(3)
    relay.step()
    anvil.rpc("evm_increaseTime", CONSENT_S + 60)
    anvil.mine(4)
    relay.step()
    [notice] = refunds(smtp_server)
    assert "revoked" in text_of(notice)
