"""Consent: request, approve, deny, revoke, and isAllowed over time."""

import ape
import pytest
from conftest import (
    ALL_DATA_CLASSES,
    APPROVED,
    CONSENT_DOC_HASH,
    CONSENT_PERIOD,
    DENIED,
    EXPORTS,
    HEART_RATE_WINDOWS,
    PENDING,
    PREDICTIONS_ALERTS,
    PURPOSE_TREAT,
    REVOKED,
)


def test_request_consent__stores_request_and_emits_purpose_and_document_hash(ledger, patient, requester, now):
    valid_from = now() + 100
    tx = ledger.requestConsent(
        patient, PURPOSE_TREAT, 0b011, valid_from, valid_from + CONSENT_PERIOD, CONSENT_DOC_HASH, sender=requester
    )

    [event] = tx.decode_logs(ledger.ConsentRequested)
    assert event.requestId == 1
    assert event.patient == patient.address
    assert event.requester == requester.address
    assert event.purposeOfUse == PURPOSE_TREAT
    assert event.dataClasses == 0b011
    assert (event.validFrom, event.validUntil) == (valid_from, valid_from + CONSENT_PERIOD)
    assert event.consentDocHash == CONSENT_DOC_HASH
    request = ledger.getRequest(1)
    assert (request.patient, request.requester) == (patient.address, requester.address)
    assert (request.status, request.dataClasses) == (PENDING, 0b011)
    assert (request.validFrom, request.validUntil) == (valid_from, valid_from + CONSENT_PERIOD)
    assert ledger.grantOf(patient, requester, HEART_RATE_WINDOWS) == 0  # pending grants nothing


def test_request_consent__ids_increase(create_request):
    assert [create_request(), create_request(), create_request()] == [1, 2, 3]


def test_request_consent__zero_patient__reverts(ledger, requester, now):
    zero = "0x" + "00" * 20
    with ape.reverts(ledger.ConsentRegistryInvalidPatient, patient=zero):
        ledger.requestConsent(zero, PURPOSE_TREAT, 1, now(), now() + 100, CONSENT_DOC_HASH, sender=requester)


def test_request_consent__to_oneself__reverts(ledger, requester, now):
    with ape.reverts(ledger.ConsentRegistryInvalidPatient, patient=requester.address):
        ledger.requestConsent(requester, PURPOSE_TREAT, 1, now(), now() + 100, CONSENT_DOC_HASH, sender=requester)


@pytest.mark.parametrize("purpose", [
    b"HIV+ cohort; AFib dx 2026".ljust(32, b"\0"),  # what a stranger could have written
    b"research".ljust(32, b"\0"), b"TREATX".ljust(32, b"\0"), b"\0" * 32,
    b"\0" + b"TREAT".ljust(31, b"\0"),  # a code, not left-aligned
])
def test_request_consent__free_text_or_unknown_purpose__reverts(ledger, patient, requester, now,
                                                               purpose):
    """Only an HL7 v3 PurposeOfUse code goes on-chain beside a patient's address: anyone may
    open a request, so free text there would be anyone's note about the patient, for ever."""
    with ape.reverts(ledger.ConsentRegistryUnknownPurpose, purposeOfUse=purpose):
        ledger.requestConsent(patient, purpose, 1, now(), now() + 100, CONSENT_DOC_HASH,
                              sender=requester)


@pytest.mark.parametrize("code", [b"TREAT", b"ETREAT", b"CAREMGT", b"HOPERAT", b"HRESCH",
                                  b"CLINTRL", b"PUBHLTH", b"PATRQT"])
def test_request_consent__each_purpose_code__accepted(ledger, patient, requester, now, code):
    receipt = ledger.requestConsent(patient, code.ljust(32, b"\0"), 1, now(), now() + 100,
                                    CONSENT_DOC_HASH, sender=requester)
    assert receipt.decode_logs(ledger.ConsentRequested)[0].purposeOfUse == code.ljust(32, b"\0")


@pytest.mark.parametrize("data_classes", [0, 0b1000, 0b1111_1111])
def test_request_consent__invalid_data_classes__reverts(ledger, create_request, data_classes):
    with ape.reverts(ledger.ConsentRegistryInvalidDataClasses, dataClasses=data_classes):
        create_request(data_classes=data_classes)


def test_request_consent__empty_period__reverts(ledger, create_request, now):
    start = now() + 100
    with ape.reverts(ledger.ConsentRegistryInvalidPeriod, validFrom=start, validUntil=start):
        create_request(valid_from=start, valid_until=start)


def test_request_consent__period_already_over__reverts(ledger, create_request, now):
    start = now() - 1000
    with ape.reverts(ledger.ConsentRegistryInvalidPeriod, validFrom=start, validUntil=start + 10):
        create_request(valid_from=start, valid_until=start + 10)


def test_request_consent__paused__reverts(ledger, owner, create_request):
    ledger.pause(sender=owner)
    with ape.reverts(ledger.EnforcedPause):
        create_request()


def test_approve__by_patient__approves_and_emits(ledger, patient, requester, create_request):
    request_id = create_request()

    tx = ledger.approve(request_id, sender=patient)

    assert tx.decode_logs(ledger.ConsentApproved) == [
        ledger.ConsentApproved(requestId=request_id, patient=patient.address, requester=requester.address)
    ]
    assert ledger.getRequest(request_id).status == APPROVED
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_deny__by_patient__denies_and_emits(ledger, patient, requester, create_request):
    request_id = create_request()

    tx = ledger.deny(request_id, sender=patient)

    assert tx.decode_logs(ledger.ConsentDenied) == [
        ledger.ConsentDenied(requestId=request_id, patient=patient.address, requester=requester.address)
    ]
    assert ledger.getRequest(request_id).status == DENIED
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_revoke__by_patient__is_immediate(ledger, patient, requester, create_grant):
    request_id = create_grant()
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)

    tx = ledger.revoke(request_id, sender=patient)

    assert tx.decode_logs(ledger.ConsentRevoked) == [
        ledger.ConsentRevoked(requestId=request_id, patient=patient.address, requester=requester.address)
    ]
    assert ledger.getRequest(request_id).status == REVOKED
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


@pytest.mark.parametrize("decide", ["approve", "deny", "revoke"])
def test_decide__not_patient__reverts(ledger, requester, create_grant, create_request, decide):
    request_id = create_grant() if decide == "revoke" else create_request()
    with ape.reverts(ledger.ConsentRegistryNotPatient, requestId=request_id, caller=requester.address):
        getattr(ledger, decide)(request_id, sender=requester)


@pytest.mark.parametrize("decide", ["approve", "deny", "revoke"])
def test_decide__unknown_request__reverts(ledger, patient, decide):
    with ape.reverts(ledger.ConsentRegistryUnknownRequest, requestId=42):
        getattr(ledger, decide)(42, sender=patient)


@pytest.mark.parametrize(
    "first, then, status",
    [
        ("approve", "approve", APPROVED),
        ("approve", "deny", APPROVED),
        ("deny", "approve", DENIED),
        ("deny", "revoke", DENIED),
        ("revoke", "approve", REVOKED),
        ("revoke", "revoke", REVOKED),
    ],
)
def test_decide__wrong_status__reverts(ledger, patient, create_request, first, then, status):
    request_id = create_request()
    if first == "revoke":
        ledger.approve(request_id, sender=patient)
    getattr(ledger, first)(request_id, sender=patient)

    with ape.reverts(ledger.ConsentRegistryWrongStatus, requestId=request_id, status=status):
        getattr(ledger, then)(request_id, sender=patient)


def test_revoke__pending__reverts(ledger, patient, create_request):
    request_id = create_request()
    with ape.reverts(ledger.ConsentRegistryWrongStatus, requestId=request_id, status=PENDING):
        ledger.revoke(request_id, sender=patient)


def test_is_allowed__follows_the_validity_window(ledger, patient, requester, create_grant, chain, now):
    valid_from = now() + 1000
    create_grant(valid_from=valid_from, valid_until=valid_from + 1000)
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)  # not yet

    chain.mine(timestamp=valid_from + 10)
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)

    chain.mine(timestamp=valid_from + 1000)  # validUntil is exclusive
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_is_allowed__only_for_consented_data_classes(ledger, patient, requester, create_grant):
    create_grant(data_classes=1 << PREDICTIONS_ALERTS)

    assert ledger.isAllowed(patient, requester, PREDICTIONS_ALERTS)
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert not ledger.isAllowed(patient, requester, EXPORTS)
    assert not ledger.isAllowed(patient, requester, 3)  # undefined class
    assert not ledger.isAllowed(patient, requester, 255)


def test_is_allowed__only_for_the_pair(ledger, patient, requester, doctor, other_patient, create_grant):
    create_grant()

    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert not ledger.isAllowed(patient, doctor, HEART_RATE_WINDOWS)
    assert not ledger.isAllowed(other_patient, requester, HEART_RATE_WINDOWS)
    assert not ledger.isAllowed(requester, patient, HEART_RATE_WINDOWS)


def test_is_allowed__new_pending_request_keeps_live_grant(ledger, patient, requester, create_grant, create_request):
    granted = create_grant()
    create_request(data_classes=1 << EXPORTS)

    assert ledger.grantOf(patient, requester, HEART_RATE_WINDOWS) == granted
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_approve__other_classes__both_grants_hold(ledger, patient, requester, create_grant, create_request):
    first = create_grant(data_classes=1 << HEART_RATE_WINDOWS)
    second = create_request(data_classes=1 << EXPORTS)

    ledger.approve(second, sender=patient)

    assert (ledger.grantOf(patient, requester, HEART_RATE_WINDOWS), ledger.grantOf(patient, requester, EXPORTS)) == (first, second)
    assert ledger.isAllowed(patient, requester, EXPORTS)
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_approve__class_already_granted__reverts(ledger, patient, create_grant, create_request):
    live = create_grant(data_classes=0b011)
    overlapping = create_request(data_classes=0b110)

    with ape.reverts(ledger.ConsentRegistryAlreadyGranted, requestId=overlapping, dataClass=PREDICTIONS_ALERTS, grantId=live):
        ledger.approve(overlapping, sender=patient)
    assert ledger.getRequest(overlapping).status == PENDING


def test_approve__after_grant_revoked__takes_the_class(ledger, patient, requester, create_grant, create_request):
    first = create_grant()
    second = create_request()
    ledger.revoke(first, sender=patient)

    ledger.approve(second, sender=patient)

    assert ledger.grantOf(patient, requester, HEART_RATE_WINDOWS) == second
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_request_consent__after_grant_expired__new_request_can_be_granted(ledger, patient, requester, create_grant, create_request, chain, now):
    start = now()
    expired = create_grant(valid_from=start, valid_until=start + 100)
    chain.mine(timestamp=start + 200)

    fresh = create_request()

    assert fresh != expired
    ledger.approve(fresh, sender=patient)
    assert ledger.grantOf(patient, requester, HEART_RATE_WINDOWS) == fresh
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_revoke__with_many_grants__touches_only_its_request(ledger, patient, requester, doctor, create_grant):
    mine = create_grant(sender=requester)
    theirs = create_grant(sender=doctor)

    ledger.revoke(mine, sender=patient)

    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert ledger.isAllowed(patient, doctor, HEART_RATE_WINDOWS)
    assert ledger.getRequest(theirs).status == APPROVED


def test_request__all_data_classes_mask_is_accepted(ledger, patient, requester, create_grant):
    create_grant(data_classes=ALL_DATA_CLASSES)
    assert all(ledger.isAllowed(patient, requester, c) for c in (HEART_RATE_WINDOWS, PREDICTIONS_ALERTS, EXPORTS))
