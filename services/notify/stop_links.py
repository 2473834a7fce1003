"""The link in every email that stops them for its recipient (one-click unsubscribe): the
notification peers' alerts and the relay's notices.

A confirmed address (services/gateway/email_confirmations.py) gets an account's emails until
the account removes it; its owner — a doctor who changed practice, a relative — needs a way out
that does not depend on the patient. The link's token is a keyed digest of (account, address)
under the records master key, which the services that write the emails (notification peers,
listeners: their contact directory is the record store) and the gateway that honours it hold: no state to keep, nothing to look up, and nobody without the key can
make one for another address. It never expires, as an unsubscribe link must not.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from html import escape
from typing import Any
from urllib.parse import urlencode

from services.notify.base import Email
from services.notify.links import stop_emails_link

LABEL = b"pulseledger/stop-emails/v1"
TOKEN_HEX = 32  # 128 bits
ONE_CLICK_PATH = "/onboarding/emails/unsubscribe"  # the gateway's route for mail clients


def stop_token(store: Any, owner: str, email: str) -> str:
    """`store`: a services.records RecordStore (its master key derives the digest)."""
    return store.keyed_digest(LABEL, f"{owner.lower()}\n{email}".encode()).hex()[:TOKEN_HEX]


def token_matches(store: Any, owner: str, email: str, token: str) -> bool:
    return hmac.compare_digest(stop_token(store, owner, email), token)


class StopLinks:
    """The dapp page's link and the one-click query that stop `owner`'s emails to `address`:
    both carry the same token, derived once (a keyed digest under the records master key)."""

    def __init__(self, store: Any, owner: str, address: str):
        self.owner, self.address = owner.lower(), address
        self.token = stop_token(store, owner, address)

    def link(self, dapp_url: str) -> str:
        """The dapp page that stops them, with its token."""
        return stop_emails_link(dapp_url, self.owner, self.address, self.token)

    def query(self) -> str:
        """The query of the one-click stop (RFC 8058) that a mail client POSTs to the gateway."""
        return urlencode({"owner": self.owner, "email": self.address, "token": self.token})


def one_click_url(gateway_url: str, query: str) -> str:
    return f"{gateway_url.rstrip('/')}{ONE_CLICK_PATH}?{query}"


def with_stop_link(email: Email, store: Any, owner: str, dapp_url: str) -> Email:
    """`email` (to one recipient) with a last paragraph linking to the page that stops them,
    and the same stop for a mail client's own button (`Email.stop_query`)."""
    (address,) = email.to
    stop = StopLinks(store, owner, address)
    sentence = f"To stop these emails about this patient: {stop.link(dapp_url)}"
    html = None if email.html is None else email.html + f"<p>{escape(sentence)}</p>"
    return replace(email, text=f"{email.text}\n\n{sentence}", html=html,
                   stop_query=stop.query())
