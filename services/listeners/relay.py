"""The notification relay's fold: which event calls for which email, to whom.

Derived state: the purchases still open and the consent periods they are bound by, so that a
revocation, a consent period that ended, or a passed delivery deadline can tell the buyer a refund
is claimable (`reclaim` accepts exactly then: after `deliverBy`, or once the purchase's own request
is no longer in force). The two time-driven cases are a scan of the open purchases against the chain
time of each confirmed range (`on_confirmed`), not an event: it runs in the same transaction as the
cursor, so it survives a restart, and `refund_noticed` makes it one email per purchase."""

from __future__ import annotations

import sqlite3

from services.listeners.events import ChainEvent
from services.listeners.handler import Handler
from services.listeners.state import Effect

PAID = "Paid"  # the status an open purchase is folded with (settled ones are deleted)
# Why a purchase became reclaimable (the email says it in words: messages.render).
REVOKED, CONSENT_ENDED, EXPIRED = "revoked", "consent_ended", "expired"


class RelayHandler(Handler):
    name = "relay"

    def __init__(self, digest_accesses: bool = False) -> None:
        self.digest_accesses = digest_accesses

    def create_tables(self, db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS relay_purchases (purchase_id TEXT PRIMARY KEY, "
            "request_id TEXT NOT NULL, patient TEXT NOT NULL, buyer TEXT NOT NULL, "
            "amount TEXT NOT NULL, deliver_by INTEGER NOT NULL, status TEXT NOT NULL, "
            "paid_event_key TEXT NOT NULL, refund_noticed INTEGER NOT NULL DEFAULT 0)")
        db.execute("CREATE INDEX IF NOT EXISTS relay_purchases_by_request "
                   "ON relay_purchases (request_id)")
        # settled purchases a relay from before 2026-12-06 kept with their status
        db.execute("DELETE FROM relay_purchases WHERE status != ?", (PAID,))
        # validUntil of every request (exclusive end of its period), from ConsentRequested.
        db.execute("CREATE TABLE IF NOT EXISTS relay_consent_periods (request_id TEXT PRIMARY KEY, "
                   "valid_until INTEGER NOT NULL)")

    def reset(self, tx: sqlite3.Connection) -> None:
        tx.execute("DELETE FROM relay_purchases")
        tx.execute("DELETE FROM relay_consent_periods")

    def apply(self, tx: sqlite3.Connection, event: ChainEvent) -> list[Effect]:
        a, key = event.args, event.key
        match event.name:
            case "ConsentRequested":
                tx.execute("INSERT OR REPLACE INTO relay_consent_periods (request_id, valid_until) "
                           "VALUES (?, ?)", (str(a["requestId"]), a["validUntil"]))
                return [Effect(key, "consent_requested", {
                    "recipient": a["patient"], "requestId": a["requestId"],
                    "requester": a["requester"], "dataClasses": a["dataClasses"],
                    "validFrom": a["validFrom"], "validUntil": a["validUntil"]}, key)]
            case "ConsentApproved" | "ConsentDenied":
                kind = "consent_approved" if event.name == "ConsentApproved" else "consent_denied"
                return [Effect(key, kind, {"recipient": a["requester"], "patient": a["patient"],
                                           "requestId": a["requestId"]}, key)]
            case "ConsentRevoked":
                return self._refunds_after_revocation(tx, key, str(a["requestId"]))
            case "PurchasePaid":
                tx.execute(
                    "INSERT OR REPLACE INTO relay_purchases (purchase_id, request_id, patient, "
                    "buyer, amount, deliver_by, status, paid_event_key) VALUES (?,?,?,?,?,?,?,?)",
                    (str(a["purchaseId"]), str(a["requestId"]), a["patient"], a["buyer"],
                     str(a["amount"]), a["deliverBy"], PAID, key))
                return [Effect(key, "purchase_paid", {
                    "recipient": a["patient"], "purchaseId": a["purchaseId"], "buyer": a["buyer"],
                    "dataClass": a["dataClass"], "amount": str(a["amount"])}, key)]
            case "DeliveryConfirmed" | "PurchaseRefunded":
                # settled: nothing can make it reclaimable again (kept, the table grew by every
                # purchase ever made, and each confirmed block's scan with it)
                tx.execute("DELETE FROM relay_purchases WHERE purchase_id = ?",
                           (str(a["purchaseId"]),))
                return []
            case "AccessLogged":
                return [Effect(key, "record_accessed", {
                    "recipient": a["patient"], "accessor": a["accessor"],
                    "recordId": a["recordId"], "purchaseId": a["purchaseId"],
                    "blockNumber": event.block_number}, key, held=self.digest_accesses)]
        return []

    def _refunds_after_revocation(self, tx, revoke_key: str, request_id: str) -> list[Effect]:
        rows = tx.execute(
            "SELECT purchase_id, buyer, amount, deliver_by FROM relay_purchases "
            "WHERE request_id = ? AND status = ? AND refund_noticed = 0", (request_id, PAID)
        ).fetchall()
        tx.execute("UPDATE relay_purchases SET refund_noticed = 1 WHERE request_id = ? AND status = ?",
                   (request_id, PAID))
        return [Effect(f"{revoke_key}:refund:{purchase_id}", "refund_claimable", {
            "recipient": buyer, "purchaseId": int(purchase_id), "amount": amount,
            "deliverBy": deliver_by, "reason": REVOKED}, revoke_key)
            for purchase_id, buyer, amount, deliver_by in rows]

    def on_confirmed(self, tx, block_number: int, block_timestamp: int) -> list[Effect]:
        # Chain time of a confirmed block, not the wall clock: the same fold on every replay.
        # Reclaimable from a block with timestamp > deliverBy, or >= validUntil (out of force).
        rows = tx.execute(
            "SELECT p.purchase_id, p.buyer, p.amount, p.deliver_by, p.paid_event_key, c.valid_until "
            "FROM relay_purchases p LEFT JOIN relay_consent_periods c ON c.request_id = p.request_id "
            "WHERE p.status = ? AND p.refund_noticed = 0 AND (p.deliver_by < ? OR c.valid_until <= ?)",
            (PAID, block_timestamp, block_timestamp)).fetchall()
        tx.executemany("UPDATE relay_purchases SET refund_noticed = 1 WHERE purchase_id = ?",
                       [(row[0],) for row in rows])
        return [_time_refund(*row) for row in rows]


def _time_refund(purchase_id: str, buyer: str, amount: str, deliver_by: int, paid_key: str,
                 valid_until: int | None) -> Effect:
    """The notice for a purchase that chain time made reclaimable, naming whichever came first.
    Keyed by the purchase's PurchasePaid event, so a refold after a reorg yields the same key."""
    payload = {"recipient": buyer, "purchaseId": int(purchase_id), "amount": amount,
               "deliverBy": deliver_by}
    if valid_until is not None and valid_until <= deliver_by:
        return Effect(f"{paid_key}:consent-ended", "refund_claimable",
                      {**payload, "reason": CONSENT_ENDED, "validUntil": valid_until}, paid_key)
    return Effect(f"{paid_key}:expired", "refund_claimable", {**payload, "reason": EXPIRED}, paid_key)
