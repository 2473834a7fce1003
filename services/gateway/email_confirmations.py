"""Confirming an address before it gets alerts (double opt-in).

A patient names where their alerts go and their doctor's address; both reach mailboxes that are
not the patient's to give away. So a named address first gets one email with a link carrying a
256-bit secret, and joins the contacts (or becomes the doctor's email) only when the link comes
back (`POST /onboarding/emails/confirm`, routes_onboarding.py). The store keeps the secret's
sha256 only (services/records/store_email_confirmations.py).

Bounds, counted across replicas: confirmation emails per patient per hour and per address per
day (an address is keyed by its digest: budgets never hold an address), confirm attempts per
client address. The email names no patient and no health information: it goes to an address
nobody has vouched for yet.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime

from services.gateway.context import Gateway
from services.gateway.errors import BadRequest, Unavailable
from services.notify import Email, NotifierRejected, NotifierUnavailable, message_id_for
from services.notify.links import confirm_email_link
from services.records import PendingEmail

SECRET_PATTERN = r"[A-Za-z0-9_-]{43}"  # secrets.token_urlsafe(32)
_LINK_SECRET = re.compile(r"/confirm-email\?token=(" + SECRET_PATTERN + ")")


def secrets_in(text: str) -> list[str]:
    """The confirmation secrets an email's text links to (what a mailbox's owner clicks)."""
    return _LINK_SECRET.findall(text)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _address_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def confirmation_email(dapp_url: str, pending: PendingEmail, secret: str) -> Email:
    # A contact may be a patient's (alerts and notices of their data) or a researcher's
    # (notices of their requests): the email says neither which nor whose.
    asked = ("A PulseLedger patient named this address as their doctor's, for the heart-rhythm "
             "alert emails their doctor gets") if pending.purpose == "doctor" else \
        ("A PulseLedger account asked for its emails (heart-rhythm alerts, notices of data "
         "requests and purchases) to be sent to this address")
    until = datetime.fromtimestamp(pending.expires_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"{asked}.\n\n"
            "Nothing is sent to it unless you confirm. To confirm, open:\n\n"
            f"{confirm_email_link(dapp_url, secret)}\n\n"
            f"The link works once, until {until}. If you did not expect this email, ignore "
            "it: this address gets nothing more from this request.\n")
    return Email(to=(pending.email,), subject="Confirm your address for PulseLedger alerts",
                 text=text, html=None, message_id=message_id_for("confirm:" + secret))


def ask_to_confirm_all(gw: Gateway, pendings: list[PendingEmail]) -> None:
    """One patient's confirmations: their budget is spent for all of them at once (a request
    refused for it mails nothing), then each is asked (`ask_to_confirm`)."""
    if pendings:
        gw.budgets.spend(gw.limits.confirmations_per_owner, pendings[0].owner, len(pendings))
    for pending in pendings:
        ask_to_confirm(gw, pending, owner_spent=True)


def ask_to_confirm(gw: Gateway, pending: PendingEmail, owner_spent: bool = False) -> None:
    """Spend the budgets, remember the confirmation, email its link. TooManyRequests (429) when
    a budget is spent; Unavailable (503) or BadRequest (400) when the mail system does not take
    the email, and then nothing is remembered."""
    if not owner_spent:
        gw.budgets.spend(gw.limits.confirmations_per_owner, pending.owner)
    gw.budgets.spend(gw.limits.confirmations_per_address, _address_key(pending.email))
    secret = secrets.token_urlsafe(32)
    digest = secret_digest(secret)
    gw.store.add_email_confirmation(digest, pending)
    email = confirmation_email(gw.settings.dapp_url, pending, secret)
    try:
        with gw.mail.borrowed() as notifier:
            notifier.send(email)
    except NotifierUnavailable:
        gw.store.cancel_email_confirmation(digest)
        raise Unavailable("the mail system did not take the confirmation email: try again "
                          "shortly") from None
    except NotifierRejected:
        gw.store.cancel_email_confirmation(digest)
        raise BadRequest("the mail system refused to send to one of these addresses") from None


def new_pending(gw: Gateway, owner: str, email: str, purpose: str,
                doctor: str | None = None) -> PendingEmail:
    expires_ms = int(time.time() * 1000) + gw.settings.email_confirm_ttl_s * 1000
    return PendingEmail(owner.lower(), email, purpose, doctor, expires_ms)


def recently_asked(gw: Gateway, pending: PendingEmail, now_ms: int) -> bool:
    """A link went to this address less than `email_resend_after_s` ago: not sent again."""
    sent_ms = pending.expires_ms - gw.settings.email_confirm_ttl_s * 1000
    return now_ms - sent_ms < gw.settings.email_resend_after_s * 1000
