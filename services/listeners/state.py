"""Durable state of one daemon, in one SQLite file: the cursor, the block hashes needed to find a
fork point, every handled event, the effects queue (with its dead letters) and incidents.

Everything a poll decides is written in one transaction with the cursor, so the cursor can never
pass a block whose events were not recorded."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.listeners.events import ChainEvent
from services.runtime.sqlite_helpers import connect, immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1), block_number INTEGER NOT NULL, block_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (block_number INTEGER PRIMARY KEY, block_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY, block_number INTEGER NOT NULL, block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_position ON events (block_number, log_index);
CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY, event_key TEXT, kind TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    last_error TEXT, in_doubt INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    sent_at REAL, group_key TEXT);
CREATE INDEX IF NOT EXISTS effects_due ON effects (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS effects_by_event ON effects (event_key);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
"""

# Effect statuses: pending -> sending -> sent; pending -> dead (dead letter, with last_error);
# held (waiting for a digest) -> grouped; orphaned (its event left the chain before it was sent).
PENDING, SENDING, SENT, DEAD, HELD, GROUPED, ORPHANED = (
    "pending", "sending", "sent", "dead", "held", "grouped", "orphaned")
# A dead letter for an event the daemon could not fold (bad input or a bug): kept with its error,
# the cursor moves on. Not requeued with the emails: fix the cause, then replay (docs/listeners.md).
UNPROCESSABLE = "unprocessable_event"


@dataclass(frozen=True)
class Cursor:
    block_number: int
    block_hash: str


@dataclass(frozen=True)
class Effect:
    key: str
    kind: str
    payload: dict[str, Any]
    event_key: str | None = None
    held: bool = False  # waits for a digest instead of being sent on its own


@dataclass(frozen=True)
class EffectRow:
    key: str
    event_key: str | None
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    in_doubt: int


class StateStore:
    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.db = connect(path, synchronous)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.db)

    # -- identity: a state file belongs to one chain and one contract ------------------------
    def bind_identity(self, identity: dict[str, str]) -> None:
        with self.transaction() as tx:
            stored = dict(tx.execute("SELECT key, value FROM meta").fetchall())
            for key, value in identity.items():
                if key in stored and stored[key] != value:
                    raise StateMismatch(
                        f"state file {self.path} belongs to {key}={stored[key]}, not {value}")
                tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- cursor and checkpoints -----------------------------------------------------------------
    def cursor(self) -> Cursor | None:
        row = self.db.execute("SELECT block_number, block_hash FROM cursor").fetchone()
        return Cursor(row[0], row[1]) if row else None

    @staticmethod
    def set_cursor(tx: sqlite3.Connection, cursor: Cursor) -> None:
        tx.execute("INSERT INTO cursor (id, block_number, block_hash) VALUES (1, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, "
                   "block_hash = excluded.block_hash", (cursor.block_number, cursor.block_hash))
        StateStore.add_checkpoint(tx, cursor.block_number, cursor.block_hash)

    @staticmethod
    def add_checkpoint(tx: sqlite3.Connection, number: int, block_hash: str) -> None:
        tx.execute("INSERT OR REPLACE INTO checkpoints (block_number, block_hash) VALUES (?, ?)",
                   (number, block_hash))

    @staticmethod
    def prune_checkpoints(tx: sqlite3.Connection, below: int) -> None:
        """Forget hashes older than the reorg window, keeping the newest one below it as a floor."""
        floor = tx.execute("SELECT MAX(block_number) FROM checkpoints WHERE block_number < ?",
                           (below,)).fetchone()[0]
        if floor is not None:
            tx.execute("DELETE FROM checkpoints WHERE block_number < ?", (floor,))

    def checkpoints_descending(self) -> list[Cursor]:
        rows = self.db.execute(
            "SELECT block_number, block_hash FROM checkpoints ORDER BY block_number DESC")
        return [Cursor(n, h) for n, h in rows]

    # -- events -----------------------------------------------------------------------------
    @staticmethod
    def record_event(tx: sqlite3.Connection, event: ChainEvent) -> bool:
        """True when the event is new; a redelivered event changes nothing."""
        cursor = tx.execute(
            "INSERT OR IGNORE INTO events (key, block_number, block_hash, tx_hash, log_index, name, "
            "args) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.key, event.block_number, event.block_hash, event.tx_hash, event.log_index,
             event.name, json.dumps(event.args)))
        return cursor.rowcount == 1

    def events(self, tx: sqlite3.Connection | None = None, above: int = -1) -> list[ChainEvent]:
        rows = (tx or self.db).execute(
            "SELECT * FROM events WHERE block_number > ? ORDER BY block_number, log_index", (above,))
        chain_id = int(self.meta("chain_id") or 0)
        return [ChainEvent(chain_id, row["name"], json.loads(row["args"]), row["block_number"],
                           row["block_hash"], row["tx_hash"], row["log_index"]) for row in rows]

    def handled_positions(self) -> set[tuple[str, int]]:
        return {(tx_hash, index) for tx_hash, index in
                self.db.execute("SELECT tx_hash, log_index FROM events")}

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- effects ------------------------------------------------------------------------------
    @staticmethod
    def enqueue(tx: sqlite3.Connection, effect: Effect, now: float) -> None:
        """Idempotent by effect key; an effect orphaned by a reorg comes back if its event does."""
        status = HELD if effect.held else PENDING
        tx.execute(
            "INSERT INTO effects (key, event_key, kind, payload, status, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = excluded.status,"
            " attempts = 0, next_attempt_at = excluded.next_attempt_at WHERE effects.status = ?",
            (effect.key, effect.event_key, effect.kind, json.dumps(effect.payload), status, now, now,
             ORPHANED))

    def due_effects(self, now: float, limit: int) -> list[EffectRow]:
        rows = self.db.execute(
            "SELECT * FROM effects WHERE status = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, created_at LIMIT ?", (PENDING, now, limit))
        return [_effect_row(row) for row in rows]

    def effects(self, status: str | None = None) -> list[EffectRow]:
        if status is None:
            rows = self.db.execute("SELECT * FROM effects ORDER BY created_at")
        else:
            rows = self.db.execute("SELECT * FROM effects WHERE status = ? ORDER BY created_at",
                                   (status,))
        return [_effect_row(row) for row in rows]

    def count_effects(self, *statuses: str) -> int:
        marks = ",".join("?" * len(statuses))
        return self.db.execute(f"SELECT COUNT(*) FROM effects WHERE status IN ({marks})",
                               statuses).fetchone()[0]

    def mark_sending(self, key: str) -> None:
        """Opens the send window: a crash from here until mark_sent may cause one resend."""
        with self.transaction() as tx:
            tx.execute("UPDATE effects SET status = ?, attempts = attempts + 1 WHERE key = ?",
                       (SENDING, key))

    def mark_sent(self, key: str, now: float) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE effects SET status = ?, sent_at = ?, last_error = NULL WHERE key = ?",
                       (SENT, now, key))

    def mark_retry(self, key: str, error: str, next_attempt_at: float) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE effects SET status = ?, last_error = ?, next_attempt_at = ? "
                       "WHERE key = ?", (PENDING, error, next_attempt_at, key))

    def mark_dead(self, key: str, error: str) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE effects SET status = ?, last_error = ? WHERE key = ?",
                       (DEAD, error, key))

    def recover_in_doubt(self) -> int:
        """After a crash: an effect caught in the send window may or may not have been accepted.
        Send it again (same Message-ID) and count the doubt."""
        with self.transaction() as tx:
            return tx.execute("UPDATE effects SET status = ?, in_doubt = in_doubt + 1 "
                              "WHERE status = ?", (PENDING, SENDING)).rowcount

    def requeue_dead(self, now: float) -> int:
        with self.transaction() as tx:
            return tx.execute("UPDATE effects SET status = ?, attempts = 0, next_attempt_at = ? "
                              "WHERE status = ? AND kind != ?",
                              (PENDING, now, DEAD, UNPROCESSABLE)).rowcount

    @staticmethod
    def dead_letter_event(tx: sqlite3.Connection, event: ChainEvent, error: str,
                          now: float) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO effects (key, event_key, kind, payload, status, attempts, "
            "next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (f"{event.key}:unprocessable", event.key, UNPROCESSABLE,
             json.dumps({"name": event.name, "block": event.block_number}), DEAD, now, error, now))

    # -- incidents ----------------------------------------------------------------------------
    @staticmethod
    def log_incident(tx: sqlite3.Connection, kind: str, detail: dict[str, Any]) -> None:
        tx.execute("INSERT INTO incidents (at, kind, detail) VALUES (?, ?, ?)",
                   (time.time(), kind, json.dumps(detail)))

    def incidents(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, at, kind, detail FROM incidents ORDER BY id")
        return [{"id": r[0], "at": r[1], "kind": r[2], **json.loads(r[3])} for r in rows]


class StateMismatch(Exception):
    """The state file was written for another chain or contract."""


def _effect_row(row: sqlite3.Row) -> EffectRow:
    return EffectRow(row["key"], row["event_key"], row["kind"], json.loads(row["payload"]),
                     row["status"], row["attempts"], row["last_error"], row["in_doubt"])
