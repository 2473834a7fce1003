"""The notification relay's fold: which event calls for which email, to whom.

Derived state: the purchases still open, so that a revocation or a passed delivery deadline can
tell the buyer a refund is claimable."""

from __future__ import annotations

import sqlite3

from services.listeners.events import ChainEvent
from services.listeners.handler import Handler
from services.listeners.state import Effect

PAID, DELIVERED, REFUNDED = "Paid", "Delivered", "Refunded"


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

    def reset(self, tx: sqlite3.Connection) -> None:
        tx.execute("DELETE FROM relay_purchases")

    def apply(self, tx: sqlite3.Connection, event: ChainEvent) -> list[Effect]:
        a, key = event.args, event.key
        match event.name:
            case "ConsentRequested":
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
                status = DELIVERED if event.name == "DeliveryConfirmed" else REFUNDED
                tx.execute("UPDATE relay_purchases SET status = ? WHERE purchase_id = ?",
                           (status, str(a["purchaseId"])))
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
            "deliverBy": deliver_by, "reason": "revoked"}, revoke_key)
            for purchase_id, buyer, amount, deliver_by in rows]

    def on_confirmed(self, tx, block_number: int, block_timestamp: int) -> list[Effect]:
        # Chain time of a confirmed block, not the wall clock: the same fold on every replay.
        rows = tx.execute(
            "SELECT purchase_id, buyer, amount, deliver_by, paid_event_key FROM relay_purchases "
            "WHERE status = ? AND refund_noticed = 0 AND deliver_by < ?", (PAID, block_timestamp)
        ).fetchall()
        tx.execute("UPDATE relay_purchases SET refund_noticed = 1 "
                   "WHERE status = ? AND refund_noticed = 0 AND deliver_by < ?",
                   (PAID, block_timestamp))
        return [Effect(f"{paid_key}:expired", "refund_claimable", {
            "recipient": buyer, "purchaseId": int(purchase_id), "amount": amount,
            "deliverBy": deliver_by, "reason": "expired"}, paid_key)
            for purchase_id, buyer, amount, deliver_by, paid_key in rows]
