"""Every email the system sends, rendered by the real message code, with who receives it, the dapp
page its link names and the links it carries: the relay's (services/listeners/messages.py, every
kind and every refund reason) and the episode emails (services/alerts/emails.py, every notified
event, to the patient and to their doctor). Market sales and erasure send no email of their own: a
sale is the relay's `purchase_paid`, a refund notice its `refund_claimable`.

Three consumers, so none can drift from the templates:
- tests/listeners/test_email_catalog.py: the catalog covers every kind `render` knows, every kind
  the relay emits and every refund reason, and each link is the page the catalog names;
- frontend/test/fixtures/email-links.json (`uv run python -m tests.dapp.email_catalog > …`, checked
  current by that test): the dapp's vitest parses every link with the router and checks the page
  and the role it opens for the recipient;
- tests/dapp/stack.py (`links`): the Chromium e2e opens each link in the recipient's wallet.

Not here: the stop link each sender adds to every email it sends (services/notify/stop_links.py;
its page is opened by the e2e's onboarding), and the gateway's confirmation email
(services/gateway/email_confirmations.py), which goes to an address not yet confirmed and opens
a page that needs no wallet. The e2e's onboarding opens the real one from the gateway's outbox
(`mailbox`), and tests/gateway/test_email_confirmation.py checks its text.
"""

from __future__ import annotations

import json
import re

from services.alerts import NOTIFIED, Event
from services.alerts.emails import Patient, episode_emails
from services.listeners.messages import render
from services.listeners.relay import CONSENT_ENDED, EXPIRED, REVOKED

LINK = re.compile(r"https?://\S+")
PRICE = 10**15
DOCTOR_EMAIL = "doctor@clinic.invalid"
PATIENT_EMAIL = "patient@example.invalid"
# For the committed fixture: stable, obviously fake addresses (the e2e passes its real ones).
FIXTURE = {"dapp_url": "http://127.0.0.1:5173/", "patient": "0x" + "11" * 20,
           "requester": "0x" + "22" * 20, "request_id": 1, "purchase_id": 258,
           "alert_at_ms": 1_700_000_000_000}


def relay_emails(patient: str, requester: str, request_id: int,
                 purchase_id: int) -> list[tuple[str, str, str, str, dict]]:
    """(kind, variant, recipient, page, payload) for every email the relay writes."""
    access = {"accessor": requester, "recordId": "0x" + "00" * 32, "purchaseId": purchase_id,
              "blockNumber": 1}
    consent = {"patient": patient, "requestId": request_id}
    refund = {"purchaseId": purchase_id, "amount": PRICE, "deliverBy": 1_800_000_000}
    return [
        ("consent_requested", "", "patient", "request",
         {"requester": requester, "dataClasses": 4, "validFrom": 0, "validUntil": 1,
          "requestId": request_id}),
        ("consent_approved", "", "requester", "request", consent),
        ("consent_denied", "", "requester", "request", consent),
        ("purchase_paid", "", "patient", "earnings",
         {"buyer": requester, "amount": PRICE, "dataClass": 2, "purchaseId": purchase_id}),
        ("record_accessed", "", "patient", "access", access),
        ("access_digest", "", "patient", "access", {"items": [access, access]}),
        ("refund_claimable", REVOKED, "requester", "purchase", {**refund, "reason": REVOKED}),
        ("refund_claimable", CONSENT_ENDED, "requester", "purchase",
         {**refund, "reason": CONSENT_ENDED, "validUntil": 1_700_000_000}),
        ("refund_claimable", EXPIRED, "requester", "purchase", {**refund, "reason": EXPIRED}),
    ]


def every_email(dapp_url: str, patient: str, requester: str, request_id: int, purchase_id: int,
                alert_at_ms: int) -> list[dict]:
    """Each email as {kind, variant, to, page, links}; episode emails also carry `at`."""
    emails = []
    for kind, variant, to, page, payload in relay_emails(patient, requester, request_id,
                                                         purchase_id):
        _, paragraphs = render(kind, payload, dapp_url)
        emails.append({"kind": kind, "variant": variant, "to": to, "page": page,
                       "links": LINK.findall("\n".join(paragraphs))})
    for notice in NOTIFIED:
        event = Event(notice, alert_at_ms, alert_at_ms - 60_000, 5, 6)
        for email in episode_emails(event, Patient(patient), [PATIENT_EMAIL], DOCTOR_EMAIL,
                                    dapp_url):
            to_doctor = email.to == (DOCTOR_EMAIL,)
            emails.append({"kind": "alert_to_doctor" if to_doctor else "alert", "variant": notice,
                           "to": "doctor" if to_doctor else "patient", "page": "patient",
                           "links": LINK.findall(email.text), "at": alert_at_ms})
    return emails


def fixture() -> dict:
    return {"source": "tests/dapp/email_catalog.py", **FIXTURE, "emails": every_email(**FIXTURE)}


if __name__ == "__main__":
    print(json.dumps(fixture(), indent=1))
