"""The notification peer's k-of-n history on disk, so a restart does not forget it.

Kept in the notification peer's SQLite ledger file (next to the sent ledger): per user the latest
window start seen, and the judged windows since the user's last alert — window start, irregular
flag, and when we observed it — at most n of them. Rows are keyed by (user, window start), so a
retry that delivers a window again changes nothing; the history is read back ordered by window
start. Written in one transaction per delivered batch, before the batch is acknowledged.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_users (
    user TEXT PRIMARY KEY, last_start_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_history (
    user TEXT NOT NULL, window_start_ms INTEGER NOT NULL, irregular INTEGER NOT NULL,
    observed_ms INTEGER NOT NULL, PRIMARY KEY (user, window_start_ms)) WITHOUT ROWID;
"""

History = tuple[int | None, list[tuple[int, bool]]]  # (last window start, [(start, irregular)])


class AlertHistory:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
        self._db.executescript(_SCHEMA)

    def save(self, histories: dict[str, History]) -> None:
        """Replace these users' histories, atomically."""
        now = int(time.time() * 1000)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for user, (last_start, recent) in histories.items():
                if last_start is None:
                    db.execute("DELETE FROM alert_users WHERE user = ?", (user,))
                else:
                    db.execute("INSERT INTO alert_users VALUES (?, ?) ON CONFLICT (user) DO "
                               "UPDATE SET last_start_ms = excluded.last_start_ms",
                               (user, last_start))
                kept = [start for start, _ in recent]
                db.execute(f"DELETE FROM alert_history WHERE user = ? AND window_start_ms NOT IN "
                           f"({','.join('?' * len(kept))})", (user, *kept))
                db.executemany("INSERT OR IGNORE INTO alert_history VALUES (?, ?, ?, ?)",
                               [(user, start, int(irregular), now) for start, irregular in recent])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def load(self, user: str) -> History:
        row = self._db.execute("SELECT last_start_ms FROM alert_users WHERE user = ?",
                               (user,)).fetchone()
        recent = [(start, bool(flag)) for start, flag in self._db.execute(
            "SELECT window_start_ms, irregular FROM alert_history WHERE user = ? "
            "ORDER BY window_start_ms", (user,))]
        return (row[0] if row else None, recent)

    def load_all(self) -> dict[str, History]:
        out: dict[str, History] = {user: (last, []) for user, last in self._db.execute(
            "SELECT user, last_start_ms FROM alert_users")}
        for user, start, flag in self._db.execute(
                "SELECT user, window_start_ms, irregular FROM alert_history "
                "ORDER BY user, window_start_ms"):
            out.setdefault(user, (None, []))[1].append((start, bool(flag)))
        return out

    def close(self) -> None:
        self._db.close()
