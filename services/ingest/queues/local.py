"""The durable local queue: one SQLite file (WAL), shared by every master on this machine.

A receive stamps a lock token and an expiry on the oldest visible messages in one transaction, so
competing masters never get the same message while its lock holds; when a master dies, its locks
expire and the messages become visible again. complete/abandon act only while the caller still
holds the lock (its token matches), so a master that stalled past its lock cannot complete a
message another master now owns. Bodies are sealed at rest (services/runtime/at_rest_seal.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path

from services.ingest.queues.base import QueueMessage
from services.runtime.at_rest_seal import Seal
from services.runtime.sqlite_helpers import connect

QUEUE_SEAL_TAG = b"\x00PLQ1"  # never the first bytes of a JSON message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    lock_token TEXT,
    locked_until REAL NOT NULL DEFAULT 0,
    enqueued_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (locked_until, id);
-- Poison check on every receive: only the few messages delivered many times, not the backlog.
CREATE INDEX IF NOT EXISTS messages_poison ON messages (delivery_count, locked_until);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    dead_lettered_at REAL NOT NULL
);
"""


class LocalQueue:
    def __init__(self, path: Path | str, lock_s: float = 30.0, max_delivery_count: int = 10):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a device's signed readings (heart rates), kept until completed
        self._seal = Seal.beside(self.path, QUEUE_SEAL_TAG)
        self.lock_s = lock_s
        self.max_delivery_count = max_delivery_count
        self._db = connect(self.path, "NORMAL")
        # One connection, usable from several threads (a feeder and a monitor, say): each
        # operation holds this lock, so no statement runs inside another thread's transaction
        # (a read left open there makes the next BEGIN IMMEDIATE fail at once in WAL mode).
        self._lock = threading.RLock()
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        if "enqueued_ms" not in columns:  # a queue written before it was kept: 0 = "long ago"
            self._db.execute("ALTER TABLE messages ADD COLUMN enqueued_ms INTEGER NOT NULL DEFAULT 0")

    # -- sink ---------------------------------------------------------------------------------
    def send(self, bodies: list[bytes]) -> None:
        with self._transaction():
            now_ms = int(time.time() * 1000)
            self._db.executemany("INSERT INTO messages (body, enqueued_ms) VALUES (?, ?)",
                                 [(self._seal.seal(b), now_ms) for b in bodies])

    # -- source -------------------------------------------------------------------------------
    def receive(self, max_messages: int) -> list[QueueMessage]:
        now = time.time()
        token = uuid.uuid4().hex
        with self._transaction():
            self._dead_letter_exhausted(now)
            rows = self._db.execute(
                "UPDATE messages SET lock_token = ?, locked_until = ?, "
                "delivery_count = delivery_count + 1 WHERE id IN (SELECT id FROM messages "
                "WHERE locked_until <= ? ORDER BY id LIMIT ?) "
                "RETURNING id, body, delivery_count",
                (token, now + self.lock_s, now, max_messages),
            ).fetchall()
        rows.sort()
        return [QueueMessage(str(i), self._seal.open(body), count, token)
                for i, body, count in rows]

    def complete(self, messages: list[QueueMessage]) -> None:
        with self._transaction():
            self._db.executemany(
                "DELETE FROM messages WHERE id = ? AND lock_token = ?",
                [(int(m.message_id), m.lock_token) for m in messages],
            )

    def renew(self, messages: list[QueueMessage]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE messages SET locked_until = ? WHERE id = ? AND lock_token = ?",
                [(time.time() + self.lock_s, int(m.message_id), m.lock_token) for m in messages],
            )

    def abandon(self, messages: list[QueueMessage]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE messages SET locked_until = 0, lock_token = NULL "
                "WHERE id = ? AND lock_token = ?",
                [(int(m.message_id), m.lock_token) for m in messages],
            )

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        with self._transaction():
            moved = self._db.execute(
                "DELETE FROM messages WHERE id = ? AND lock_token = ? RETURNING body, "
                "delivery_count", (int(message.message_id), message.lock_token),
            ).fetchone()
            if moved:
                self._db.execute(
                    "INSERT INTO dead_letters VALUES (?, ?, ?, ?, ?)",
                    (int(message.message_id), moved[0], moved[1], reason, time.time()),
                )

    def _dead_letter_exhausted(self, now: float) -> None:
        """Messages already delivered max times whose lock ran out: poison, park them."""
        self._db.execute(
            "INSERT INTO dead_letters SELECT id, body, delivery_count, "
            "'max delivery count exceeded', ? FROM messages "
            "WHERE locked_until <= ? AND delivery_count >= ?",
            (now, now, self.max_delivery_count),
        )
        self._db.execute(
            "DELETE FROM messages WHERE locked_until <= ? AND delivery_count >= ?",
            (now, self.max_delivery_count),
        )

    def oldest_pending_ms(self) -> int | None:
        """When the oldest message not yet completed (locked or not) was sent, in ms since the
        epoch; None when the queue is empty (the source watermark, base.py)."""
        with self._lock:
            row = self._db.execute("SELECT enqueued_ms FROM messages ORDER BY id LIMIT 1").fetchone()
        return None if row is None else row[0]

    # -- inspection (tests, status, benchmarks) -----------------------------------------------
    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM messages").fetchall()[0][0]

    def pending_bodies(self) -> list[bytes]:
        """The bodies of every message not yet completed, opened; nothing is locked or counted
        as a delivery (what is still waiting, for a benchmark's or an operator's count)."""
        with self._lock:
            return [self._seal.open(b) for (b,) in
                    self._db.execute("SELECT body FROM messages ORDER BY id")]

    def dead_lettered(self) -> list[tuple[bytes, str]]:
        with self._lock:
            return [(self._seal.open(b), r) for b, r in
                    self._db.execute("SELECT body, reason FROM dead_letters ORDER BY id")]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self):
        return _Immediate(self._db, self._lock)


class _Immediate:
    """BEGIN IMMEDIATE takes the write lock up front, so two receivers never race a read."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock):
        self.db, self.lock = db, lock

    def __enter__(self):
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
