"""The notification peer's episode state on disk, so a restart resumes it: per user the alert
rule's tracker state (services/alerts EpisodeTracker.export: the rule's state, the windows of the
last max_age, the notices already returned), as JSON, in the peer's SQLite ledger file. Written
in one transaction per delivered batch, with the emails it queued (notification_ledger.py),
before the batch is acknowledged. Every user of a batch is written (~1,000 a close round at the
goal's rate), so by msgspec (document_json), not the standard library's encoder: 2026-12-07."""

from __future__ import annotations

from pathlib import Path

from services.runtime import document_json
from services.runtime.sqlite_helpers import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS episode_state (user TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
"""


class AlertHistory:
    def __init__(self, path: Path):
        self._db = connect(path, "FULL")  # read at start; the ledger writes (write_in)
        self._db.executescript(SCHEMA)

    @staticmethod
    def write_in(db, states: dict[str, dict]) -> None:
        """Replace these users' states inside the caller's transaction on the same file (the
        notification ledger queues a batch's emails with them: notification_ledger.py)."""
        db.executemany("INSERT INTO episode_state VALUES (?, ?) ON CONFLICT (user) DO UPDATE "
                       "SET state = excluded.state",
                       [(user, document_json.dumps(state)) for user, state in states.items()])

    def load_all(self) -> dict[str, dict]:
        return {user: document_json.loads(state)
                for user, state in self._db.execute("SELECT user, state FROM episode_state")}

    def close(self) -> None:
        self._db.close()
