"""Every link in every email names the dapp page it is about (services/notify/links.py; the dapp's
routes are frontend/src/lib/routes.ts, and its e2e opens these links in Chromium)."""

import re

import pytest

from services.alerts import ALL_CLEAR, REMINDER, STARTED, Event
from services.alerts.emails import Patient, episode_emails
from services.listeners.messages import render

DAPP = "http://127.0.0.1:5173"
PATIENT = "0x" + "11" * 20
BUYER = "0x" + "22" * 20
ACCESS = {"accessor": BUYER, "recordId": "0x" + "ab" * 32, "purchaseId": 258, "blockNumber": 7}
LINK = re.compile(r"https?://\S+")

CASES = {
    "consent_requested": ({"requester": BUYER, "dataClasses": 4, "validFrom": 0, "validUntil": 1,
                           "requestId": 12}, ["/#/requests/12"]),
    "consent_approved": ({"patient": PATIENT, "requestId": 12}, ["/#/requests/12"]),
    "consent_denied": ({"patient": PATIENT, "requestId": 13}, ["/#/requests/13"]),
    "purchase_paid": ({"buyer": BUYER, "amount": 10**15, "dataClass": 2, "purchaseId": 3074},
                      ["/#/earnings"]),
    "record_accessed": (ACCESS, ["/#/access"]),
    "access_digest": ({"items": [ACCESS, ACCESS]}, ["/#/access"]),
    "refund_claimable": ({"purchaseId": 3074, "amount": 10**15, "reason": "revoked"},
                         ["/#/purchases/3074"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_message__every_link__names_its_page(kind):
    payload, pages = CASES[kind]
    _, paragraphs = render(kind, payload, DAPP + "/")  # a trailing slash must not double up
    links = [link for paragraph in paragraphs for link in LINK.findall(paragraph)]
    assert links == [DAPP + page for page in pages]


def test_alert_emails__each_links_the_patients_heart_data_at_the_notice():
    for kind in (STARTED, REMINDER, ALL_CLEAR):
        event = Event(kind, 1_700_000_000_000, 1_699_999_000_000, 5, 6)
        link = f"{DAPP}/#/patients/{PATIENT}?at=1700000000000"
        for email in episode_emails(event, Patient(PATIENT), ["p@example.test"],
                                    "dr@example.test", DAPP):
            assert LINK.findall(email.text) == [link]
            assert link in email.html
