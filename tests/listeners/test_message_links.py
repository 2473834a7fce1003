"""Every link in every email names the dapp page it is about (services/notify/links.py; the dapp's
routes are frontend/src/lib/routes.ts, and its e2e opens these links in Chromium)."""

import re
from types import SimpleNamespace

import pytest

from services.listeners.messages import render
from services.peers.roles.notification import alert_email

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


def test_alert_email__links_the_patients_heart_data_at_the_alert():
    alert = SimpleNamespace(message="5 of the last 6 windows looked irregular. A screen, not a "
                                    "diagnosis.")
    link = f"{DAPP}/#/patients/{PATIENT}?at=1700000000000"
    email = alert_email(("p@example.test",), alert, "alert/dev/1700000000000", link)
    assert LINK.findall(email.text) == [link]
    assert link in email.html
