"""A stand-in for the record store (branch `records`) until it lands, with the same shape.

INTERIM: the real store (services/records, SQLite + Firestore, encrypted at rest) replaces this
file; `open_record_store` picks it up automatically once `services.records` exists. This one keeps
window payloads as JSON (not encrypted) and exists so the pipeline runs and is tested now.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, owner TEXT, public_key TEXT);
CREATE TABLE IF NOT EXISTS contacts (owner TEXT PRIMARY KEY, emails TEXT, doctor TEXT);
CREATE TABLE IF NOT EXISTS windows (
    record_id TEXT PRIMARY KEY, owner TEXT, device_id TEXT, window_start_ms INTEGER,
    payload TEXT, ciphertext_sha256 TEXT, created REAL, batch_root TEXT, proof TEXT,
    UNIQUE (device_id, window_start_ms));
CREATE TABLE IF NOT EXISTS batches (root TEXT PRIMARY KEY, leaf_count INTEGER, anchor_tx TEXT);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, payload BLOB, reason TEXT, created REAL,
    fingerprint TEXT UNIQUE);
"""


@dataclass(frozen=True)
class Device:
    device_id: str
    owner: str
    public_key: str


@dataclass(frozen=True)
class WindowRef:
    record_id: str
    ciphertext_sha256: str
    created: bool


@dataclass(frozen=True)
class DeadLetter:
    kind: str
    payload: bytes
    reason: str


class InterimRecordStore:
    def __init__(self, path: Path | str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def register_device(self, device_id: str, owner: str, public_key: str) -> Device:
        self._db.execute("INSERT OR REPLACE INTO devices VALUES (?, ?, ?)",
                         (device_id, owner, public_key))
        return Device(device_id, owner, public_key)

    def get_device(self, device_id: str) -> Device | None:
        row = self._db.execute("SELECT * FROM devices WHERE device_id = ?", (device_id,)).fetchone()
        return Device(*row) if row else None

    def set_contacts(self, owner: str, emails: list[str], doctor: str | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO contacts VALUES (?, ?, ?)",
                         (owner, json.dumps(emails), doctor))

    def get_contacts(self, owner: str) -> list[str]:
        row = self._db.execute("SELECT emails FROM contacts WHERE owner = ?", (owner,)).fetchone()
        return json.loads(row[0]) if row else []

    def get_doctor(self, owner: str) -> str | None:
        row = self._db.execute("SELECT doctor FROM contacts WHERE owner = ?", (owner,)).fetchone()
        return row[0] if row else None

    def put_window(self, owner: str, device_id: str, window_start_ms: int,
                   payload: dict) -> WindowRef:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()
        record_id = hashlib.sha256(f"{device_id}/{window_start_ms}".encode()).hexdigest()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            existing = self._db.execute(
                "SELECT record_id, ciphertext_sha256 FROM windows "
                "WHERE device_id = ? AND window_start_ms = ?", (device_id, window_start_ms),
            ).fetchone()
            if existing is None:
                self._db.execute(
                    "INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                    (record_id, owner, device_id, window_start_ms, body, digest, time.time()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if existing:
            return WindowRef(existing[0], existing[1], False)
        return WindowRef(record_id, digest, True)

    def put_windows(self, items: list[tuple[str, str, int, dict]]) -> list[WindowRef]:
        return [self.put_window(*item) for item in items]

    def pending_unbatched(self, limit: int) -> list[WindowRef]:
        rows = self._db.execute(
            "SELECT record_id, ciphertext_sha256 FROM windows WHERE batch_root IS NULL "
            "ORDER BY created, record_id LIMIT ?", (limit,)).fetchall()
        return [WindowRef(r, h, False) for r, h in rows]

    def record_batch(self, root: str, record_ids: list[str], proofs: list[list[str]],
                     anchor_tx: str | None) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?)",
                         (root, len(record_ids), anchor_tx))
        self._db.executemany(
            "UPDATE windows SET batch_root = ?, proof = ? WHERE record_id = ?",
            [(root, json.dumps(p), r) for r, p in zip(record_ids, proofs)])
        self._db.execute("COMMIT")

    def dead_letter(self, kind: str, payload: bytes, reason: str) -> None:
        # Idempotent: a master that dies after dead-lettering redelivers the same message.
        fingerprint = hashlib.sha256(kind.encode() + b"\0" + payload + b"\0" +
                                     reason.encode()).hexdigest()
        self._db.execute(
            "INSERT OR IGNORE INTO dead_letters (kind, payload, reason, created, fingerprint) "
            "VALUES (?, ?, ?, ?, ?)", (kind, payload, reason, time.time(), fingerprint))

    def dead_letters(self, kind: str) -> list[DeadLetter]:
        return [DeadLetter(kind, bytes(p), r) for p, r in self._db.execute(
            "SELECT payload, reason FROM dead_letters WHERE kind = ? ORDER BY id", (kind,))]

    # -- inspection for tests and benchmarks (not part of the record-store interface) ---------
    def windows(self) -> list[tuple[str, int, dict]]:
        return [(d, w, json.loads(p)) for d, w, p in self._db.execute(
            "SELECT device_id, window_start_ms, payload FROM windows")]

    def batch_rows(self) -> list[tuple[str, int, str | None]]:
        return list(self._db.execute("SELECT root, leaf_count, anchor_tx FROM batches"))

    def close(self) -> None:
        self._db.close()
