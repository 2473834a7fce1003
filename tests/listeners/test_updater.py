"""The record-store updater's view of consents, purchases and accesses per patient."""

from services.listeners.updater import ActivityView

from .harness import build_daemon


def test_updater__full_flow__view_per_patient(ledger, anvil, tmp_path):
    c = ledger.contract.functions
    patient, other, buyer = ledger.patients[0], ledger.patients[1], ledger.requesters[0]
    daemon = build_daemon("updater", ledger, anvil.url, tmp_path / "state", contacts=None,
                          notifier=None)
    ledger.transact(c.requestConsent(patient, 3, 1, 2**39), buyer)
    ledger.transact(c.requestConsent(other, 1, 1, 2**39), buyer)
    ledger.transact(c.approve(1, buyer), patient)
    ledger.transact(c.purchase(1, patient, 0, 2**39), buyer, value=7)
    ledger.transact(c.purchase(1, patient, 1, 2**39), buyer, value=9)
    ledger.transact(c.confirmDelivery(256, patient, 7), patient)
    access_tx = ledger.transact(c.logAccess(patient, b"\x07" * 32, 256), buyer)
    ledger.transact(c.deny(2, buyer), other)
    anvil.mine(3)
    daemon.step()
    view = ActivityView(daemon.units[0].store.path)
    assert [(r["request_id"], r["status"], r["data_classes"]) for r in view.consents_of(patient)] \
        == [("1", "Approved", 3)]
    assert [(r["request_id"], r["status"]) for r in view.consents_of("0x" + other[2:].upper())] \
        == [("2", "Denied")]
    assert [(r["purchase_id"], r["status"], r["amount"]) for r in view.purchases_of(patient)] \
        == [("256", "Delivered", "7"), ("257", "Paid", "9")]
    [access] = view.accesses_of(patient)
    assert access["record_id"] == "0x" + "07" * 32 and access["tx_hash"] == access_tx
    assert access["accessor"] == buyer.lower()
    assert view.accesses_of(other) == []
    view.close()
    daemon.close()
