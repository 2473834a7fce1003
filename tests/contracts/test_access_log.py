"""Access log: every read of a registered record by a buyer is checked and emitted, and changes nothing."""

import ape
from conftest import DELIVERY_WINDOW, EXPORTS, HEART_RATE_WINDOWS, NONE, REFUNDED, RETIRED, REVOKED


def storage_writes(chain, txn_hash):
    trace = chain.provider.make_request(
        "debug_traceTransaction", [txn_hash, {"disableMemory": True, "disableStack": True, "disableStorage": True}]
    )
    assert trace["structLogs"], "the trace must cover the call for this check to mean anything"
    return [step for step in trace["structLogs"] if step["op"] in ("SSTORE", "TSTORE", "CREATE", "CREATE2", "CALL")]


def test_log_access__paid_purchase__emits_and_writes_nothing(ledger, patient, requester, create_purchase, create_record, chain):
    _, purchase_id = create_purchase()
    record_id = create_record()

    tx = ledger.logAccess(record_id, purchase_id, sender=requester)

    assert tx.decode_logs(ledger.AccessLogged) == [
        ledger.AccessLogged(accessor=requester.address, patient=patient.address, recordId=record_id, purchaseId=purchase_id)
    ]
    assert storage_writes(chain, tx.txn_hash) == []


def test_log_access__delivered_purchase__emits(ledger, requester, gateway, create_purchase, create_record):
    _, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    record_id = create_record()

    tx = ledger.logAccess(record_id, purchase_id, sender=requester)

    assert len(tx.decode_logs(ledger.AccessLogged)) == 1


def test_log_access__while_paused__emits(ledger, owner, requester, create_purchase, create_record):
    _, purchase_id = create_purchase()
    record_id = create_record()
    ledger.pause(sender=owner)

    tx = ledger.logAccess(record_id, purchase_id, sender=requester)

    assert len(tx.decode_logs(ledger.AccessLogged)) == 1


def test_log_access__patient_enumerates_history_from_events(ledger, patient, other_patient, requester, doctor, create_purchase, create_record):
    _, by_requester = create_purchase(sender=requester)
    _, by_doctor = create_purchase(sender=doctor)
    _, elsewhere = create_purchase(sender=requester, to=other_patient)
    first, second = create_record(), create_record()
    foreign = create_record(owner_patient=other_patient)
    start = ape.chain.blocks.head.number + 1
    ledger.logAccess(first, by_requester, sender=requester)
    ledger.logAccess(second, by_doctor, sender=doctor)
    ledger.logAccess(foreign, elsewhere, sender=requester)
    ledger.logAccess(first, by_doctor, sender=doctor)

    history = list(ledger.AccessLogged.range(start, ape.chain.blocks.head.number + 1, search_topics={"patient": patient.address}))

    assert [(log.accessor, log.recordId, log.purchaseId) for log in history] == [
        (requester.address, first, by_requester),
        (doctor.address, second, by_doctor),
        (doctor.address, first, by_doctor),
    ]


def test_log_access__not_the_buyer__reverts(ledger, patient, doctor, create_purchase, create_record):
    _, purchase_id = create_purchase()
    record_id = create_record()
    for account in (doctor, patient):
        with ape.reverts(ledger.AccessLogNotBuyer, purchaseId=purchase_id, caller=account.address):
            ledger.logAccess(record_id, purchase_id, sender=account)


def test_log_access__unknown_request__reverts(ledger, requester, create_record):
    record_id = create_record()
    with ape.reverts(ledger.AccessLogNotBuyer, purchaseId=999 << 8, caller=requester.address):
        ledger.logAccess(record_id, 999 << 8, sender=requester)


def test_log_access__not_purchased__reverts(ledger, requester, create_grant, create_record):
    request_id = create_grant()
    record_id = create_record()
    purchase_id = request_id << 8 | HEART_RATE_WINDOWS
    # An unbought purchase has no buyer (the buyer is kept in the purchase itself).
    with ape.reverts(ledger.AccessLogNotBuyer, purchaseId=purchase_id, caller=requester.address):
        ledger.logAccess(record_id, purchase_id, sender=requester)


def test_log_access__refunded__reverts(ledger, requester, create_purchase, create_record, chain):
    _, purchase_id = create_purchase()
    record_id = create_record()
    chain.mine(deltatime=DELIVERY_WINDOW + 1)
    ledger.reclaim(purchase_id, sender=requester)
    with ape.reverts(ledger.AccessLogNotPaid, purchaseId=purchase_id, status=REFUNDED):
        ledger.logAccess(record_id, purchase_id, sender=requester)


def test_log_access__revoked_after_delivery__reverts(ledger, patient, requester, gateway, create_purchase, create_record):
    request_id, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    record_id = create_record()
    ledger.revoke(request_id, sender=patient)
    with ape.reverts(ledger.AccessLogConsentNotApproved, requestId=request_id, status=REVOKED):
        ledger.logAccess(record_id, purchase_id, sender=requester)


def test_log_access__consent_expired__reverts(ledger, requester, create_purchase, create_record, chain, now):
    start = now()
    request_id, purchase_id = create_purchase(valid_from=start, valid_until=start + 1000)
    record_id = create_record()
    chain.pending_timestamp = start + 1000
    with ape.reverts(ledger.AccessLogOutsideConsentPeriod, requestId=request_id, validFrom=start, validUntil=start + 1000):
        ledger.logAccess(record_id, purchase_id, sender=requester)


def test_log_access__unknown_record__reverts(ledger, requester, create_purchase):
    _, purchase_id = create_purchase()
    unknown = b"\x42" * 32
    with ape.reverts(ledger.AccessLogRecordNotActive, recordId=unknown, status=NONE):
        ledger.logAccess(unknown, purchase_id, sender=requester)


def test_log_access__retired_record__reverts(ledger, patient, requester, create_purchase, create_record):
    _, purchase_id = create_purchase()
    record_id = create_record()
    ledger.retireRecord(record_id, sender=patient)
    with ape.reverts(ledger.AccessLogRecordNotActive, recordId=record_id, status=RETIRED):
        ledger.logAccess(record_id, purchase_id, sender=requester)


def test_log_access__other_patients_record__reverts(ledger, patient, other_patient, requester, create_purchase, create_record):
    _, purchase_id = create_purchase()
    foreign = create_record(owner_patient=other_patient)
    with ape.reverts(ledger.AccessLogWrongPatient, recordId=foreign, expected=patient.address, actual=other_patient.address):
        ledger.logAccess(foreign, purchase_id, sender=requester)


def test_log_access__record_of_other_data_class__reverts(ledger, requester, create_purchase, create_record):
    _, purchase_id = create_purchase(data_class=HEART_RATE_WINDOWS)
    export = create_record(data_class=EXPORTS)
    with ape.reverts(ledger.AccessLogWrongDataClass, recordId=export, expected=HEART_RATE_WINDOWS, actual=EXPORTS):
        ledger.logAccess(export, purchase_id, sender=requester)
