"""The notification peer's emails on disk: those waiting to be handed over to the mail system
(`pending`, each with its email) and those handed over (`sent`), by ledger key, in the peer's
SQLite ledger file beside the episode state (alert_history.py).

A batch's emails are queued together with its users' episode state in one transaction, before
the batch is acknowledged; the role's sender hands them over afterwards, oldest first, and
moves them to `sent` (services/peers/roles/notification.py). Emails hold what their recipient
is entitled to and never health values (services/alerts/emails.py), as the outbox's files do.

A `sent` key is kept for `notify_sent_retention_s` (7 days) after it was settled, then
forgotten (forget_sent). It guards the moment between a batch's state and its emails: the
episode tracker, saved with each batch, makes no event again for a window it has seen
(services/alerts/rule.py), and a batch is redelivered within minutes, not days. Before
2026-12-06 nothing forgot them: one row per email, for ever."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from pathlib import Path

from services.notify import Email
from services.peers.alert_history import SCHEMA as EPISODE_STATE_SCHEMA
from services.peers.alert_history import AlertHistory
from services.runtime.sqlite_helpers import connect, immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, sent_at REAL);
CREATE TABLE IF NOT EXISTS pending (key TEXT PRIMARY KEY, email TEXT NOT NULL);
"""
_SENT_AT_INDEX = "CREATE INDEX IF NOT EXISTS sent_at ON sent (sent_at)"


class NotificationLedger:
    def __init__(self, path: Path):
        self._db = connect(path, "FULL")  # acknowledged means on disk
        self._db.executescript(_SCHEMA + EPISODE_STATE_SCHEMA)
        with immediate(self._db) as db:  # a ledger from before sent_at: its keys count from now
            if "sent_at" not in {row[1] for row in db.execute("PRAGMA table_info(sent)")}:
                db.execute("ALTER TABLE sent ADD COLUMN sent_at REAL")
                db.execute("UPDATE sent SET sent_at = ?", (time.time(),))
            db.execute(_SENT_AT_INDEX)
        # a batch (queue) and the sender (pending, mark_sent) use it from their own threads:
        # one connection holds one transaction at a time
        self._lock = threading.Lock()

    def known(self, key: str) -> bool:
        """The email with this key was sent, or is queued to be."""
        with self._lock:
            return self._db.execute(
                "SELECT 1 FROM sent WHERE key = ? UNION ALL SELECT 1 FROM pending WHERE key = ?",
                (key, key)).fetchone() is not None

    def queue(self, emails: dict[str, Email], handled: list[str], states: dict[str, dict]) -> None:
        """One transaction, one sync to disk, for a whole batch: its emails to send, the keys
        settled without one (`handled`: nobody to send to, dead-lettered), its users' states."""
        with self._lock, immediate(self._db) as db:
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, ?)",
                           [(key, json.dumps(asdict(email))) for key, email in emails.items()])
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?, ?)",
                           [(key, time.time()) for key in handled])
            AlertHistory.write_in(db, states)

    def pending(self, limit: int) -> list[tuple[str, Email]]:
        """The oldest emails waiting, in the order they were queued."""
        with self._lock:
            rows = self._db.execute("SELECT key, email FROM pending ORDER BY rowid LIMIT ?",
                                    (limit,)).fetchall()
        return [(key, _email(json.loads(text))) for key, text in rows]

    def mark_sent(self, keys: list[str]) -> None:
        with self._lock, immediate(self._db) as db:
            db.executemany("DELETE FROM pending WHERE key = ?", [(key,) for key in keys])
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?, ?)",
                           [(key, time.time()) for key in keys])

    def forget_sent(self, settled_before: float, limit: int = 5_000) -> int:
        """Forget up to `limit` sent keys settled before this time (through the index: the old
        ones only); returns how many. The caller repeats while a whole `limit` went."""
        with self._lock, immediate(self._db) as db:
            return db.execute("DELETE FROM sent WHERE key IN (SELECT key FROM sent "
                              "WHERE sent_at < ? LIMIT ?)", (settled_before, limit)).rowcount

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]


def _email(fields: dict) -> Email:
    return Email(**{**fields, "to": tuple(fields["to"])})
