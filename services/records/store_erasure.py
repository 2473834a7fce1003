"""Erasure (crypto-shredding) and master-key rotation: written once.

`erase` journals the id first (the journal, not a missing key, is what "erased" means), destroys
the key (from then on nothing decrypts, even if the rest is interrupted), then drops the
ciphertext, marks the record and scrubs the backend's own files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.records import validation as v
from services.records.base import RecordNotFound
from services.records.tables import TABLE_KEYS, NewChange, Row, Write

if TYPE_CHECKING:
    from services.records.store import Store

ERASED_KIND = {"windows": "window_erased", "bundles": "bundle_erased"}


class ErasureMixin:
    def erase(self: Store, record_id: str) -> None:
        table, row = self._locate(record_id)
        self.tables.journal_erasure(record_id)
        self._shred(table, row)

    def _shred(self: Store, table: str, row: Row) -> None:
        if row["key_ref"]:  # a retired dead letter has none left
            self.keys.destroy([row["key_ref"]])
        record_id = row[TABLE_KEYS[table]]

        def mark(txn) -> None:
            current = txn.get(table, record_id)
            if current is None:
                return
            if table == "dead_letters":  # no owner, no event: just the payload goes
                if current.get("ciphertext") is not None:
                    txn.write(Write("update", table, record_id, {"ciphertext": None}))
                return
            first = current.get("erased_ms") is None
            if first or current.get("ciphertext") is not None:
                fields = {"ciphertext": None, "erased_ms": current.get("erased_ms") or v.now_ms()}
                if table == "windows":
                    fields["pending"] = False
                txn.write(Write("update", table, record_id, fields))
            if first:  # a repeat adds no second event
                txn.change(NewChange(current["owner"], ERASED_KIND[table], record_id))

        self.tables.transact(mark)
        self.tables.scrub()

    def reapply_erasures(self: Store) -> int:
        destroyed = 0
        for record_id in self.tables.journaled():
            try:
                table, row = self._locate(record_id)
            except RecordNotFound:
                continue  # the backup predates the record itself
            if self.keys.get(row["key_ref"]) is not None:
                destroyed += 1
            self._shred(table, row)
        return destroyed

    def rotate_master_key(self: Store, new_master_key: bytes) -> int:
        return self.envelope.rotate(new_master_key)
