"""The record-store updater's view of consents, purchases and accesses per patient, fed by the
real PulseLedger."""

from pulseledger_testkit.flows import HEART_RATE, PREDICTIONS, Flow

from services.listeners.updater import ActivityView

from .harness import build_daemon


def test_updater__full_flow__view_per_patient(pulse, anvil, tmp_path):
    flow = Flow(pulse)
    patient, other, buyer = pulse.patients[0], pulse.patients[1], pulse.requesters[0]
    daemon = build_daemon("updater", pulse, anvil.url, tmp_path / "state", contacts=None,
                          notifier=None)
    first = flow.request(patient, buyer, classes=0b011)
    second = flow.request(other, buyer, classes=0b001)
    pulse.transact(flow.c.approve(first), patient)
    delivered = flow.buy(patient, buyer, first, HEART_RATE)
    paid = flow.buy(patient, buyer, first, PREDICTIONS)
    pulse.transact(flow.c.confirmDelivery(delivered), flow.gateway)
    record = flow.add_record(patient, HEART_RATE, b"\x07" * 32)
    access_tx = pulse.transact(flow.c.logAccess(record, delivered), buyer)
    pulse.transact(flow.c.deny(second), other)
    anvil.mine(3)
    daemon.step()
    view = ActivityView(daemon.units[0].store.path)
    assert [(r["request_id"], r["status"], r["data_classes"]) for r in view.consents_of(patient)] \
        == [(str(first), "Approved", 3)]
    assert [(r["request_id"], r["status"]) for r in view.consents_of("0x" + other[2:].upper())] \
        == [(str(second), "Denied")]
    assert [(r["purchase_id"], r["status"]) for r in view.purchases_of(patient)] \
        == [(str(delivered), "Delivered"), (str(paid), "Paid")]
    [access] = view.accesses_of(patient)
    assert access["record_id"] == "0x" + record.hex() and access["tx_hash"] == access_tx
    assert access["accessor"] == buyer.lower()
    assert view.accesses_of(other) == []
    view.close()
    daemon.close()
