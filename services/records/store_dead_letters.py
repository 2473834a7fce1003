"""Dead letters: what could not be processed, kept encrypted (erasable) with a readable reason and
a keyed digest (HMAC under a master-derived key: a small payload cannot be confirmed by
guessing). Idempotent on (kind, payload, reason) per master key. Written once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.records import crypto
from services.records import validation as v
from services.records.base import DeadLetter, InvalidInput, TamperDetected
from services.records.integrity import KEY_MISSING, TAMPERED, IntegrityAlert
from services.records.tables import Row, Write

if TYPE_CHECKING:
    from services.records.keystore import WrappedKey
    from services.records.store import Store

DEAD_LETTER_OWNER = "dead-letter"  # bound into the associated data in place of an owner


class DeadLettersMixin:
    def dead_letter(self: Store, kind: str, payload: bytes, reason: str) -> str:
        kind, reason = v.kind(kind), v.reason(reason)
        if not isinstance(payload, bytes | bytearray):
            raise InvalidInput("dead-letter payload must be bytes")
        digest = self.envelope.ring.digest(b"dead-letter", bytes(payload))
        letter_id = v.dead_letter_id(kind, digest, reason)
        if self.tables.get("dead_letters", letter_id, ["kind"]) is not None:
            return letter_id  # the same failure, redelivered: kept once
        [(key_ref, key, wrapped)] = self.envelope.mint(1)
        sealed: bytes | None = crypto.seal(key, bytes(payload), _ad(self.namespace, letter_id))
        limit = self.tables.max_inline_bytes
        if limit is not None and len(sealed) > limit:
            sealed = None  # too big for this backend's documents: the digest and reason remain
        self.keys.put_many([wrapped])
        fields = {"kind": kind, "key_ref": key_ref, "ciphertext": sealed, "payload_digest": digest,
                  "reason": reason, "at_ms": v.now_ms()}
        if not self.tables.insert_new("dead_letters", [(letter_id, fields, None)]):
            self.keys.discard([key_ref])  # another writer stored it first
        return letter_id

    def retire_dead_letter(self: Store, kind: str, payload: bytes, reason: str) -> bool:
        """Retire the letter of (kind, payload, reason): what it held was processed after all
        (a late reading stored as its window's part, aggregation_unsent.py). Its key is
        destroyed and its row becomes a retirement in place (kind, reason, keyed digest, no key
        and no payload), in one transaction with reading it. dead_letter then finds the row and
        writes no letter: a master whose letter comes after the retirement (a redelivery late
        by more than the aggregator's hold) no longer leaves one for a reading that is stored.
        When no letter exists yet, the retirement is written all the same. True if there was a
        letter. The letter's id is what dead_letter would make for the same three."""
        kind, reason = v.kind(kind), v.reason(reason)
        if not isinstance(payload, bytes | bytearray):
            raise InvalidInput("dead-letter payload must be bytes")
        digest = self.envelope.ring.digest(b"dead-letter", bytes(payload))
        letter_id = v.dead_letter_id(kind, digest, reason)

        def retire(txn) -> Row | None:
            row = txn.get("dead_letters", letter_id, ["key_ref", "retired_ms"])
            if row is not None and row.get("retired_ms") is not None:
                return None  # retired before
            now = v.now_ms()
            txn.write(Write("set", "dead_letters", letter_id, {
                "kind": kind, "key_ref": "", "ciphertext": None, "payload_digest": digest,
                "reason": reason, "at_ms": now, "retired_ms": now}))
            return row

        row = self.tables.transact(retire)
        if row is None:
            return False
        self.keys.destroy([row["key_ref"]])  # after the row: a crash leaves a spare key, no letter without one
        return True

    def purge_retired_letters(self: Store, before_ms: int) -> int:
        """Delete the retirements made before `before_ms`, a few hundred a write."""
        purged, chunk = 0, min(self.tables.max_txn_rows or 500, 500)
        while ids := self.tables.retired_letter_ids(int(before_ms), chunk):
            self.tables.commit([Write("delete", "dead_letters", i) for i in ids])
            purged += len(ids)
            if len(ids) < chunk:
                break
        return purged

    def dead_letters(self: Store, kind: str | None = None, limit: int | None = None) -> list[DeadLetter]:
        """Oldest first; one that cannot be opened is listed without its payload (and alerted)."""
        kind = v.kind(kind) if kind is not None else None
        limit = None if limit is None else max(1, int(limit))
        rows = self.tables.dead_letter_rows(kind, limit)
        wrapped = self.keys.get_many([r["key_ref"] for r in rows]) if rows else {}
        return [DeadLetter(r["id"], r["kind"], self._letter_payload(r, wrapped),
                           r["payload_digest"], r["reason"], r["at_ms"]) for r in rows]

    def _letter_payload(self: Store, row: Row, wrapped: dict[str, WrappedKey]) -> bytes | None:
        if row.get("ciphertext") is None:
            return None  # erased, or too large to have been kept
        key = wrapped.get(row["key_ref"])
        if key is None:
            if not self.tables.is_journaled(row["id"]):
                self.integrity(IntegrityAlert(row["id"], KEY_MISSING, "the record key is gone "
                                              "but the erasure journal does not list it",
                                              "dead_letters"))
            return None
        try:
            return crypto.open_sealed(self.envelope.ring.unwrap(key), bytes(row["ciphertext"]),
                                      _ad(self.namespace, row["id"]))
        except TamperDetected:
            self.integrity(IntegrityAlert(row["id"], TAMPERED, "authentication failed",
                                          "dead_letters"))
            return None


def _ad(namespace: str, letter_id: str) -> bytes:
    return crypto.associated_data(namespace, letter_id, 1, DEAD_LETTER_OWNER)
