"""The notification peer's emails on disk: those waiting to be handed over to the mail system
(`pending`, each with its email) and those handed over (`sent`), by ledger key, in the peer's
SQLite ledger file beside the episode state (alert_history.py).

A batch's emails are queued together with its users' episode state in one transaction, before
the batch is acknowledged; the role's sender hands them over afterwards, oldest first, and
moves them to `sent` (services/peers/roles/notification.py). Emails hold what their recipient
is entitled to and never health values (services/alerts/emails.py), as the outbox's files do."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path

from services.notify import Email
from services.peers.alert_history import SCHEMA as EPISODE_STATE_SCHEMA
from services.peers.alert_history import AlertHistory
from services.runtime.sqlite_helpers import connect, immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS pending (key TEXT PRIMARY KEY, email TEXT NOT NULL);
"""


class NotificationLedger:
    def __init__(self, path: Path):
        self._db = connect(path, "FULL")  # acknowledged means on disk
        self._db.executescript(_SCHEMA + EPISODE_STATE_SCHEMA)
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
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?)", [(key,) for key in handled])
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
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?)", [(key,) for key in keys])

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]


def _email(fields: dict) -> Email:
    return Email(**{**fields, "to": tuple(fields["to"])})
