"""The record-store updater's fold: an off-chain view of consents, purchases and accesses per
patient, for quick reads by the dapp and the gateway.

The record store (services.records) has no method for this view yet, so it lives in the updater's
own durable SQLite tables, read through ActivityView; moving it into the store is a change of this
one file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from services.listeners.events import ChainEvent
from services.listeners.handler import Handler
from services.listeners.state import Effect
from services.runtime.sqlite_helpers import connect_read_only

CONSENT_STATUS = {"ConsentRequested": "Pending", "ConsentApproved": "Approved",
                  "ConsentDenied": "Denied", "ConsentRevoked": "Revoked"}
PURCHASE_STATUS = {"PurchasePaid": "Paid", "DeliveryConfirmed": "Delivered",
                   "PurchaseRefunded": "Refunded"}

TABLES = """
CREATE TABLE IF NOT EXISTS view_consents (
    request_id TEXT PRIMARY KEY, patient TEXT NOT NULL, requester TEXT NOT NULL,
    status TEXT NOT NULL, data_classes INTEGER, valid_from INTEGER, valid_until INTEGER,
    purpose_of_use TEXT, consent_doc_hash TEXT, updated_block INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS view_consents_by_patient ON view_consents (patient);
CREATE TABLE IF NOT EXISTS view_purchases (
    purchase_id TEXT PRIMARY KEY, request_id TEXT, patient TEXT NOT NULL, buyer TEXT,
    data_class INTEGER, amount TEXT, deliver_by INTEGER, status TEXT NOT NULL,
    updated_block INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS view_purchases_by_patient ON view_purchases (patient);
CREATE TABLE IF NOT EXISTS view_accesses (
    event_key TEXT PRIMARY KEY, patient TEXT NOT NULL, accessor TEXT NOT NULL,
    record_id TEXT NOT NULL, purchase_id TEXT NOT NULL, block_number INTEGER NOT NULL,
    tx_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS view_accesses_by_patient ON view_accesses (patient, block_number);
"""


class UpdaterHandler(Handler):
    name = "updater"

    def create_tables(self, db: sqlite3.Connection) -> None:
        db.executescript(TABLES)

    def reset(self, tx: sqlite3.Connection) -> None:
        for table in ("view_consents", "view_purchases", "view_accesses"):
            tx.execute(f"DELETE FROM {table}")

    def apply(self, tx: sqlite3.Connection, event: ChainEvent) -> list[Effect]:
        a, block = event.args, event.block_number
        if event.name == "ConsentRequested":
            tx.execute(
                "INSERT OR REPLACE INTO view_consents VALUES (?,?,?,?,?,?,?,?,?,?)",
                (str(a["requestId"]), a["patient"], a["requester"], "Pending", a["dataClasses"],
                 a["validFrom"], a["validUntil"], a["purposeOfUse"], a["consentDocHash"], block))
        elif event.name in CONSENT_STATUS:
            tx.execute(
                "INSERT INTO view_consents (request_id, patient, requester, status, updated_block) "
                "VALUES (?,?,?,?,?) ON CONFLICT (request_id) DO UPDATE SET status = "
                "excluded.status, updated_block = excluded.updated_block",
                (str(a["requestId"]), a["patient"], a["requester"], CONSENT_STATUS[event.name],
                 block))
        elif event.name == "PurchasePaid":
            tx.execute(
                "INSERT OR REPLACE INTO view_purchases VALUES (?,?,?,?,?,?,?,?,?)",
                (str(a["purchaseId"]), str(a["requestId"]), a["patient"], a["buyer"],
                 a["dataClass"], str(a["amount"]), a["deliverBy"], "Paid", block))
        elif event.name in PURCHASE_STATUS:
            tx.execute("UPDATE view_purchases SET status = ?, updated_block = ? "
                       "WHERE purchase_id = ?",
                       (PURCHASE_STATUS[event.name], block, str(a["purchaseId"])))
        elif event.name == "AccessLogged":
            tx.execute("INSERT OR IGNORE INTO view_accesses VALUES (?,?,?,?,?,?,?)",
                       (event.key, a["patient"], a["accessor"], a["recordId"],
                        str(a["purchaseId"]), block, event.tx_hash))
        return []


class ActivityView:
    """Read side of the updater's view (a separate read-only connection)."""

    def __init__(self, state_file: Path) -> None:
        self.db = connect_read_only(state_file)
        self.db.row_factory = sqlite3.Row

    def _rows(self, sql: str, patient: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute(sql, (patient.lower(),))]

    def consents_of(self, patient: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM view_consents WHERE patient = ? "
                          "ORDER BY CAST(request_id AS INTEGER)", patient)

    def purchases_of(self, patient: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM view_purchases WHERE patient = ? "
                          "ORDER BY CAST(purchase_id AS INTEGER)", patient)

    def accesses_of(self, patient: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM view_accesses WHERE patient = ? "
                          "ORDER BY block_number, event_key", patient)

    def close(self) -> None:
        self.db.close()
