"""The dapp's addresses that emails link to. The dapp defines the same routes
(frontend/src/lib/routes.ts, `parseRoute`); tests/listeners/test_message_links.py checks every
email's links against this module and the dapp's e2e opens them in a browser.

Hash routes (`<dapp>/#/…`): the dapp is static files, so the path after `#` reaches it behind any
web server. Pages acted on by a wallet open in the role the wallet plays there (the patient of a
request decides it, its requester sees its purchases; a patient's page is theirs or their
doctor's view of it).
"""

from __future__ import annotations

from urllib.parse import urlencode


def _base(dapp_url: str) -> str:
    return dapp_url.rstrip("/") + "/#"


def request_link(dapp_url: str, request_id: int) -> str:
    return f"{_base(dapp_url)}/requests/{int(request_id)}"


def purchase_link(dapp_url: str, purchase_id: int) -> str:
    return f"{_base(dapp_url)}/purchases/{int(purchase_id)}"


def earnings_link(dapp_url: str) -> str:
    return f"{_base(dapp_url)}/earnings"


def access_link(dapp_url: str) -> str:
    return f"{_base(dapp_url)}/access"


def patient_link(dapp_url: str, patient: str, at_ms: int | None = None) -> str:
    """A patient's heart data around `at_ms`: their own page, or their linked doctor's view."""
    at = "" if at_ms is None else f"?at={int(at_ms)}"
    return f"{_base(dapp_url)}/patients/{patient}{at}"


def pairing_link(dapp_url: str, device_id: str, code: str) -> str:
    """What a wearable's QR code carries: onboarding with the device's peer id and its pairing
    code (services/ingest/pairing.py) filled in."""
    return f"{_base(dapp_url)}/onboarding?device={device_id}&code={code}"


def confirm_email_link(dapp_url: str, secret: str) -> str:
    """An address's confirmation (services/gateway/email_confirmations.py): the dapp's page
    sends the secret back; a mail scanner that fetches the link only loads static files."""
    return f"{_base(dapp_url)}/confirm-email?token={secret}"


def stop_emails_link(dapp_url: str, owner: str, email: str, token: str) -> str:
    """In every alert email: its recipient stops getting the patient's alerts
    (services/notify/stop_links.py); a button on the page, so a mail scanner stops nothing."""
    query = urlencode({"owner": owner, "email": email, "token": token})
    return f"{_base(dapp_url)}/stop-emails?{query}"
