"""The emails the relay sends. Only what the recipient is entitled to: addresses, ids, data
classes, prices and times already public on-chain; never health values or record contents."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.chain.enums import DataClass
from services.notify.links import access_link, earnings_link, purchase_link, request_link

DATA_CLASSES = {DataClass.HEART_RATE_WINDOWS: "heart-rate windows",
                DataClass.PREDICTIONS_ALERTS: "predictions and alerts", DataClass.EXPORTS: "exports"}
FOOTER = "You receive this because your address is registered with PulseLedger."


# Every kind `render` writes; an effect of any other kind is refused (UnknownMessageKind).
KINDS = ("consent_requested", "consent_approved", "consent_denied", "purchase_paid",
         "record_accessed", "access_digest", "refund_claimable")


class UnknownMessageKind(ValueError):
    pass


def data_classes(mask: int) -> str:
    names = [name for bit, name in DATA_CLASSES.items() if mask & (1 << bit)]
    return ", ".join(names) or "none"


def data_class(index: int) -> str:
    return DATA_CLASSES.get(index, f"class {index}")


def ether(wei: int | str) -> str:
    return f"{(Decimal(int(wei)) / Decimal(10**18)).normalize():f} ETH"


def when(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):  # "forever" periods use huge timestamps
        return "no fixed end" if int(timestamp) > 0 else "the beginning"


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if address else "?"


def render(kind: str, payload: dict[str, Any], dapp_url: str) -> tuple[str, list[str]]:
    """Subject and body paragraphs for one effect."""
    p = payload
    if kind == "consent_requested":
        return "New data access request", [
            (f"{p['requester']} asks to access your {data_classes(p['dataClasses'])} "
            f"from {when(p['validFrom'])} to {when(p['validUntil'])} (request #{p['requestId']})."),
            f"Approve or deny it in the app: {request_link(dapp_url, p['requestId'])}",
        ]
    if kind in ("consent_approved", "consent_denied"):
        verdict = "approved" if kind == "consent_approved" else "denied"
        return f"Your access request was {verdict}", [
            f"Patient {p['patient']} {verdict} your request #{p['requestId']}.",
            f"Details: {request_link(dapp_url, p['requestId'])}",
        ]
    if kind == "purchase_paid":
        return "Your data was purchased", [
            (f"{p['buyer']} paid {ether(p['amount'])} for your {data_class(p['dataClass'])} "
            f"(purchase #{p['purchaseId']}). It is credited to you once delivery is confirmed."),
            f"Earnings: {earnings_link(dapp_url)}",
        ]
    if kind == "record_accessed":
        return "Your record was accessed", [_access_line(p),
                                            f"Access history: {access_link(dapp_url)}"]
    if kind == "access_digest":
        items = p["items"]
        return f"{len(items)} accesses to your records", [
            *(_access_line(item) for item in items), f"Access history: {access_link(dapp_url)}"]
    if kind == "refund_claimable":
        reason = _refund_reason(p)
        return "You can reclaim a payment", [
            f"Purchase #{p['purchaseId']} ({ether(p['amount'])}) can be reclaimed: {reason}.",
            f"Reclaim it in the app: {purchase_link(dapp_url, p['purchaseId'])}",
        ]
    raise UnknownMessageKind(kind)


def _refund_reason(p: dict[str, Any]) -> str:
    if p["reason"] == "revoked":
        return "the patient revoked the consent"
    if p["reason"] == "consent_ended":
        return f"the consent's period ended ({when(p['validUntil'])}) before delivery was confirmed"
    return f"delivery was not confirmed by {when(p['deliverBy'])}"


def _access_line(p: dict[str, Any]) -> str:
    return (f"{p['accessor']} read record {short(p['recordId'])} under purchase "
            f"#{p['purchaseId']} (block {p['blockNumber']}).")


def bodies(paragraphs: list[str]) -> tuple[str, str]:
    text = "\n\n".join([*paragraphs, FOOTER]) + "\n"
    markup = "".join(f"<p>{html.escape(line)}</p>" for line in [*paragraphs, FOOTER])
    return text, f"<!doctype html><html><body>{markup}</body></html>"
