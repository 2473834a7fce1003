"""An aggregator's durable window state (SQLite in its data dir), replicated to a second one.

A reading is keyed by (device, seq) with a digest of its content: the same key and digest again
is a redelivery (acknowledged, not stored twice), the same key with other content is a replay.
A window moves open → closing → closed. `closing` is written (and replicated) before the window
is sent on, and it moves the device's `closed_through` mark, so a reading for that window that
arrives later is "late", never silently added to a window that was already stored. All writes for
one call happen in one transaction; no transaction is ever held across an await.

A reading's heart rate and RR are sealed at rest (services/runtime/at_rest_seal.py, key
`aggregator-<name>.db.key` beside the file), each bound to its (device, seq): they are health
data, kept in the file and its WAL while the window is open. Everything else in a row (ids,
times, keyed digests) is what ordering, dedupe and closing work on, so it stays readable to SQL.
Rows crossing to another aggregator (export, rows_for, closing marks) carry them open: the link
is Noise-encrypted, and the receiver seals them into its own file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import msgspec

from services.runtime import document_json
from services.runtime.at_rest_seal import Seal
from services.runtime.keyed_sha256 import hmac_sha256_hex, keyed_states
from services.runtime.sqlite_helpers import connect

OPEN, CLOSING, CLOSED = 0, 1, 2
NEVER = -(2**62)
VERSION = 8  # 3: heart rate and RR sealed in `content`; 4: attestations in arrival order;
# 5: attestations linked to their windows, gone when those close; expired windows by index;
# 6: windows another aggregator closed carry when we learned it (before, never purged);
# 7: late readings kept in `unsent` too, with when they may go (`not_before`);
# 8: readings in arrival order (a rowid table, see _READINGS)
WINDOW_SEAL_TAG = b"\x00PLW1"
# Bytes a page of a window-store file (SQLite's default is 4,096): an index page holds four times
# the entries, so a call that writes the readings of hundreds of devices dirties and splits
# fewer pages (see _READINGS). A file made before keeps its pages (a WAL file's page size
# cannot change); its readings still move to arrival order.
PAGE_SIZE = 16_384

# The masters' attestations (services/peers/attestation.py) the readings refer to by id, kept in
# arrival order: a call's documents (~1.4 kB each) fill pages one after another. Keyed by their
# random id (WITHOUT ROWID, before user_version 4) each went to a random page and, being over
# the ~1 kB such a row keeps in its page, to an overflow page of its own as well.
_ATTESTATIONS = ("CREATE TABLE IF NOT EXISTS attestations (id TEXT NOT NULL, device TEXT, doc TEXT)",
                 "CREATE UNIQUE INDEX IF NOT EXISTS attestations_id ON attestations (id)")
# The readings, in arrival order: a call's rows (~200 bytes each: sealed content, a digest) go to
# the end of the table, and only the two indexes (entries of ~50 bytes) take one at each
# device's place. Keyed by (device, seq) (WITHOUT ROWID, before user_version 8), a call's rows
# each went to its device's page and split it when full, and a closed window's scrub rewrote
# that page again: with PAGE_SIZE, the writer's time a reading in the stream's pattern fell
# from 24.5 to 18.6 µs (benchmarks/window_store.json,
# docs/decisions/2026-12-07-readings-in-arrival-order.md). `content`: the sealed heart rate and
# RR text, NULL once the window closed.
_READINGS = (("CREATE TABLE IF NOT EXISTS readings (device TEXT, seq INTEGER, "
              "window_start INTEGER, ts INTEGER, content BLOB, digest TEXT, att TEXT, "
              "signal TEXT, PRIMARY KEY (device, seq))"),
             "CREATE INDEX IF NOT EXISTS readings_window ON readings (device, window_start)")
_SCHEMA = ";\n".join(_ATTESTATIONS + _READINGS) + """;
-- Which documents each window's readings name: what closing reads (a window's own few rows, not
-- its readings) and what tells, as a window closes, that a document is named by no other window
-- of its device and goes too. A document is one device's, of one call: its readings are in that
-- device's windows, and only the open ones keep links. (Before user_version 5 a purge every 30 s
-- found the unnamed documents by scanning every reading kept for the dedupe retention.)
CREATE TABLE IF NOT EXISTS window_attestations (
    device TEXT, window_start INTEGER, id TEXT,
    PRIMARY KEY (device, window_start, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
    device TEXT, window_start INTEGER, state INTEGER, closed_at REAL,
    PRIMARY KEY (device, window_start)) WITHOUT ROWID;
-- the purge's range: closed windows whose retention ended (before user_version 5, on (state)
-- alone, it read every closed window kept to compare its closed_at)
CREATE INDEX IF NOT EXISTS windows_closed ON windows (state, closed_at);
CREATE INDEX IF NOT EXISTS windows_state_start ON windows (state, window_start);
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY, max_ts INTEGER, closed_through INTEGER, last_update REAL);
CREATE INDEX IF NOT EXISTS devices_max_ts ON devices (max_ts);  -- the overall watermark, each tick
-- Readings found outside every stored window (a merge brought them into a window closed here,
-- or into one after closing read it: two aggregators each acted as the user's primary for a
-- while; or they arrived after their window closed, `keep_late`): kept sealed, with the
-- attestation document each names, until storage holds them as a part of their window
-- (aggregation_unsent.py sends them, `drop_unsent` forgets them). `not_before` (late ones
-- only): not sent before then, when the master's dead letter for it surely exists.
CREATE TABLE IF NOT EXISTS unsent (
    device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER, content BLOB, signal TEXT,
    doc TEXT, not_before REAL, PRIMARY KEY (device, seq)) WITHOUT ROWID;
-- Aggregators that shared window state with us (kept across restarts): one of them may hold
-- readings we lack, so we do not close windows alone while it may still come back.
CREATE TABLE IF NOT EXISTS peers (peer TEXT PRIMARY KEY) WITHOUT ROWID;
-- Per-call scratch tables: a batch looks its keys up in one join, not one query per reading.
CREATE TEMP TABLE IF NOT EXISTS incoming (
    device TEXT, seq INTEGER, PRIMARY KEY (device, seq)) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS wanted (
    device TEXT, window_start INTEGER, PRIMARY KEY (device, window_start)) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS unlinked (
    device TEXT, id TEXT, PRIMARY KEY (device, id)) WITHOUT ROWID;
"""


def rr_text(reading: dict) -> str:
    """The RR list as stored: what json.dumps writes for a list of ints, built directly."""
    return "[" + ", ".join(map(str, reading.get("rr") or ())) + "]"


def rr_list(text: str) -> list[int]:
    """rr_text read back, by msgspec typed as a list of ints (~0.1 µs against ~0.75 for split
    and int(), ~1.4 for json.loads; every reading of every window closed is read back once,
    2026-12-07); anything else (a float interval, an int beyond 64 bits) goes to the JSON
    parser, which reads it as it always did."""
    try:
        return _rr_decoder.decode(text)
    except msgspec.DecodeError:  # ValidationError included
        return json.loads(text)


_rr_decoder = msgspec.json.Decoder(list[int])


# Every insert names its columns: a store upgraded in place has them in another order.
_INSERT_READING = ("INSERT {} INTO readings (device, seq, window_start, ts, content, digest, att, "
                   "signal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


_INSERT_UNSENT = ("INSERT OR IGNORE INTO unsent (device, seq, window_start, ts, content, signal, "
                  "doc, not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _row_id(device: str, seq: int) -> bytes:
    """The associated data a row's sealed content is bound to."""
    return f"{device}\x00{seq}".encode()


def _reading(device: str, seq: int, ts: int, hr: float, rr: str, signal: str | None) -> dict:
    """A stored row as the reading it was (for a dead letter)."""
    reading = {"userId": device, "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": json.loads(rr)}
    if signal is not None:
        reading["signal"] = signal
    return reading


def digest_of(reading: dict, key: bytes) -> str:
    """HMAC-SHA256 (keyed: a plain hash of so few possible inputs would give the heart rate
    away) over the text json.dumps([heartrate, ts_ms, rr]) gives for validated readings (numbers
    print with repr, as json does), built without the encoder: this runs for every reading."""
    return row_digest(reading["heartrate"], reading["ts_ms"], rr_text(reading), key)


def digests_of(readings, key: bytes) -> list[str]:
    """[digest_of(r, key) for r in readings], the same text, with its steps written out in one
    loop (~20% less a reading: a master's worker and storage each compute one for every
    reading, storage's on the peer's own threads)."""
    inner, outer = keyed_states(key)
    out = []
    for reading in readings:
        rr = reading.get("rr")
        material = (f"[{float(reading['heartrate'])!r}, {reading['ts_ms']!r}, "
                    f"[{', '.join(map(str, rr)) if rr else ''}]]")
        hashed = inner.copy()
        hashed.update(material.encode())
        final = outer.copy()
        final.update(hashed.digest())
        out.append(final.hexdigest()[:32])
    return out


def row_digest(heartrate, ts_ms: int, rr: str, key: bytes) -> str:
    """digest_of for a stored or replicated row: heart rate, time and the RR text (rr_text)."""
    # float(): a heart rate read back from SQLite (REAL) must digest as it did arriving (a
    # FHIR or Open mHealth value may be an int): storage recomputes it from the window
    material = f"[{float(heartrate)!r}, {ts_ms!r}, {rr}]"
    # three per reading (master, aggregator, storage): the key's HMAC states are kept
    return hmac_sha256_hex(key, material.encode())[:32]


class WindowStore:
    def __init__(self, path: Path, window_ms: int, digest_key: bytes):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.window_ms = window_ms
        self.digest_key = digest_key
        # Orphans `unsent` may hold (PULSELEDGER_PEERS_UNSENT_LIMIT): an admitted aggregator
        # turned hostile could otherwise grow it without end with merges of made-up readings.
        self.unsent_limit = 1_000_000
        self._seal = Seal.beside(path, WINDOW_SEAL_TAG)
        self._db = connect(path, "NORMAL", busy_timeout_s=5.0,  # sqlite3's default wait
                           page_size=PAGE_SIZE)
        (self.page_size,) = self._db.execute("PRAGMA page_size").fetchone()  # an older file's
        fresh = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'readings'").fetchone() is None
        self._db.executescript(_SCHEMA)
        if fresh:
            self._db.execute(f"PRAGMA user_version = {VERSION}")
        else:
            self._upgrade()

    def checkpoint_after(self, wal_bytes: int) -> None:
        """Checkpoint (copy the WAL back into the file, and sync it) only in a commit of this
        connection that leaves more than `wal_bytes` in the WAL; SQLite's default is 1,000
        pages (~4 MB at 4-kB pages, 16 MB at PAGE_SIZE). Every write of ~1,000 windows or
        5,000 readings is more than 4 MB, so by default every commit checkpoints what any
        connection wrote since the last. The aggregator's loop leaves that to its ingest
        process, which commits a few times a second; 0: never in a commit (that process
        checkpoints beside its calls, ingest_process.py)."""
        self._db.execute(f"PRAGMA wal_autocheckpoint = {int(wal_bytes) // self.page_size}")

    def checkpoint_pages(self) -> int:
        (pages,) = self._db.execute("PRAGMA wal_autocheckpoint").fetchone()
        return pages

    def _sealed(self, device: str, seq: int, heartrate, rr: str) -> bytes:
        # float(): stored as it digests (row_digest), whatever number type it arrived as
        return self._seal.seal(f"{float(heartrate)!r}|{rr}".encode(), _row_id(device, seq))

    def _opened(self, device: str, seq: int, content: bytes) -> tuple[float, str]:
        """(heart rate, RR text) of a row's sealed content."""
        heartrate, rr = self._seal.open(content, _row_id(device, seq)).decode().split("|", 1)
        return float(heartrate), rr

    def _wire(self, row: tuple) -> list:
        """A stored row (device, seq, window_start, ts, content, digest, att, signal) as the
        rows other aggregators take: heart rate and RR open (None once closed)."""
        device, seq, window, ts, content, digest, att, signal = row
        heartrate, rr = (None, None) if content is None else self._opened(device, seq, content)
        return [device, seq, window, ts, heartrate, rr, digest, att, signal]

    def _upgrade(self) -> None:
        """A store from before attestations and keyed digests (user_version 0): add the column
        (its readings have no attestation), key the digests of the readings it still holds
        (or a redelivery would look like a replay), scrub what closed windows kept. Before the
        readings' declared signal (user_version 1): add its column (old readings: none). Before
        sealing (user_version 2): seal the heart rates and RR of open windows, drop their plain
        columns and rewrite the file, so none is left in a free page or the WAL. Before
        attestations in arrival order (user_version 3): move them to the new table (no rewrite:
        they hold no heart rate). Before window links (user_version 4): link each document to
        the windows whose readings name it, drop the ones none names (the purge's scan left
        them until then) and the index on `state` alone (windows_closed replaces it). Before
        closed_at on merged closes (user_version 6): give the closed windows that lack one
        (a replica's) the time of the upgrade, so the purge finds them after the retention.
        Before late readings were kept (user_version 7): `unsent` gets its `not_before`.
        Before readings in arrival order (user_version 8): they move to the new table (no
        rewrite of the file: their content is sealed)."""
        db = self._db
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in db.execute("PRAGMA table_info(readings)")}
            if version < 1:
                if "att" not in columns:
                    db.execute("ALTER TABLE readings ADD COLUMN att TEXT")
                rows = db.execute("SELECT device, seq, hr, ts, rr FROM readings "
                                  "WHERE hr IS NOT NULL").fetchall()
                db.executemany("UPDATE readings SET digest = ? WHERE device = ? AND seq = ?", [
                    (digest_of({"heartrate": hr, "ts_ms": ts, "rr": json.loads(rr)},
                               self.digest_key), device, seq) for device, seq, hr, ts, rr in rows])
                db.execute("UPDATE readings SET hr = NULL, rr = NULL, att = NULL WHERE "
                           "(device, window_start) IN (SELECT device, window_start FROM windows "
                           "WHERE state = ?)", (CLOSED,))
            if "signal" not in columns:
                db.execute("ALTER TABLE readings ADD COLUMN signal TEXT")
            if version < 3:  # seal what open windows hold, then drop the plaintext columns
                db.execute("ALTER TABLE readings ADD COLUMN content BLOB")
                db.executemany("UPDATE readings SET content = ? WHERE device = ? AND seq = ?", [
                    (self._sealed(device, seq, hr, rr), device, seq) for device, seq, hr, rr in
                    db.execute("SELECT device, seq, hr, rr FROM readings WHERE hr IS NOT NULL")])
                db.execute("ALTER TABLE readings DROP COLUMN hr")
                db.execute("ALTER TABLE readings DROP COLUMN rr")
            if version < 4:  # attestations in arrival order (see _SCHEMA)
                db.execute("ALTER TABLE attestations RENAME TO attestations_before")
                db.execute("DROP INDEX IF EXISTS attestations_id")  # it moved with the table
                for statement in _ATTESTATIONS:
                    db.execute(statement)
                db.execute("INSERT INTO attestations SELECT id, device, doc FROM attestations_before")
                db.execute("DROP TABLE attestations_before")
            if version < 5:  # documents linked to their windows (see _SCHEMA)
                db.execute("INSERT OR IGNORE INTO window_attestations SELECT DISTINCT device, "
                           "window_start, att FROM readings WHERE att IS NOT NULL")
                db.execute("DELETE FROM attestations WHERE id NOT IN "
                           "(SELECT id FROM window_attestations)")
                db.execute("DROP INDEX IF EXISTS windows_state")
            if version < 6:  # windows merges closed had no closed_at: retention starts now
                db.execute("UPDATE windows SET closed_at = ? WHERE state = ? AND closed_at IS NULL",
                           (time.time(), CLOSED))
            if "not_before" not in {row[1] for row in db.execute("PRAGMA table_info(unsent)")}:
                db.execute("ALTER TABLE unsent ADD COLUMN not_before REAL")  # version 7
            if version < 8:  # readings in arrival order (see _READINGS)
                db.execute("ALTER TABLE readings RENAME TO readings_before")
                db.execute("DROP INDEX IF EXISTS readings_window")  # it moved with the table
                for statement in _READINGS:
                    db.execute(statement)
                db.execute("INSERT INTO readings SELECT device, seq, window_start, ts, content, "
                           "digest, att, signal FROM readings_before ORDER BY window_start")
                db.execute("DROP TABLE readings_before")
            db.execute(f"PRAGMA user_version = {VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if version < 3:  # the plaintext the old columns held is still in free pages and the WAL
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def window_of(self, ts_ms: int) -> int:
        return ts_ms - ts_ms % self.window_ms

    # -- ingest -------------------------------------------------------------------------------
    def ingest(self, readings: list[dict], now: float | None = None,
               attestations: dict[str, tuple[str, str]] | None = None,
               digests: list[str | None] | None = None) -> list[str]:
        """Outcome per reading: accepted | duplicate | replay | late. Readings are judged in
        order (a second copy in the same call is a duplicate of the first); the whole call is
        one transaction with a handful of statements, whatever its size. `attestations`: id →
        (device, JSON document) of the attestations readings name in their "att"; `digests`:
        each reading's digest where the caller has it (its master's attestation), else None."""
        now = time.time() if now is None else now
        db = self._db
        outcomes = []
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM temp.incoming")
            db.executemany("INSERT OR IGNORE INTO temp.incoming VALUES (?, ?)",
                           [(r["userId"], r["seq"]) for r in readings])
            known = {(d, q): digest for d, q, digest in db.execute(
                "SELECT r.device, r.seq, r.digest FROM temp.incoming i CROSS JOIN readings r "
                "ON r.device = i.device AND r.seq = i.seq")}
            devices = {d: [m, c] for d, m, c in db.execute(
                "SELECT device, max_ts, closed_through FROM devices "
                "WHERE device IN (SELECT device FROM temp.incoming)")}
            rows, windows = [], set()
            for index, reading in enumerate(readings):
                device, seq, ts = reading["userId"], reading["seq"], reading["ts_ms"]
                digest = (digests and digests[index]) or digest_of(reading, self.digest_key)
                seen = known.get((device, seq))
                if seen is not None:
                    outcomes.append("duplicate" if seen == digest else "replay")
                    continue
                marks = devices.setdefault(device, [NEVER, NEVER])
                window = self.window_of(ts)
                if window <= marks[1]:
                    outcomes.append("late")
                    continue
                known[(device, seq)] = digest
                rows.append((device, seq, window, ts,
                             self._sealed(device, seq, reading["heartrate"], rr_text(reading)),
                             digest, reading.get("att"), reading.get("signal")))
                windows.add((device, window, OPEN))
                marks[0] = max(marks[0], ts)
                outcomes.append("accepted")
            db.executemany(_INSERT_READING.format(""), rows)
            self._link_attestations(rows, attestations or {})
            db.executemany("INSERT OR IGNORE INTO windows VALUES (?, ?, ?, NULL)", windows)
            db.executemany(
                "INSERT INTO devices VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "max_ts = max(max_ts, excluded.max_ts), last_update = excluded.last_update",
                [(d, v[0], v[1], now) for d, v in devices.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return outcomes

    def _link_attestations(self, rows: list[tuple], documents: dict[str, tuple[str, str]]) -> None:
        """Keep the documents these stored rows (as _INSERT_READING takes them) name, each
        linked to the rows' windows (inside the caller's transaction); a document no row names
        is not kept."""
        links = {(row[0], row[2], row[6]) for row in rows if row[6] is not None}
        self._db.executemany("INSERT OR IGNORE INTO window_attestations VALUES (?, ?, ?)", links)
        named = {link[2] for link in links}
        self._db.executemany("INSERT OR IGNORE INTO attestations VALUES (?, ?, ?)",
                             [(i, d, doc) for i, (d, doc) in documents.items() if i in named])

    # -- replication and hand-over ------------------------------------------------------------
    def export(self, devices: list[str]) -> dict:
        """Everything about these devices, as `merge` takes it."""
        state: dict = {"readings": [], "windows": [], "devices": [], "attestations": []}
        for device in devices:
            state["readings"] += [self._wire(r) for r in self._db.execute(
                "SELECT device, seq, window_start, ts, content, digest, att, signal "
                "FROM readings WHERE device = ?", (device,))]
            state["attestations"] += [list(r) for r in self._db.execute(
                "SELECT a.id, a.device, a.doc FROM attestations a WHERE a.id IN "
                "(SELECT id FROM window_attestations WHERE device = ?)", (device,))]
            state["windows"] += [list(r) for r in self._db.execute(
                "SELECT device, window_start, state FROM windows WHERE device = ?", (device,))]
            state["devices"] += [list(r) for r in self._db.execute(
                "SELECT device, max_ts, closed_through FROM devices WHERE device = ?", (device,))]
        return state

    def rows_for(self, readings: list[dict],
                 attestations: dict[str, tuple[str, str]] | None = None,
                 digests: list[str | None] | None = None) -> dict:
        """The replication payload for freshly accepted readings (and their attestations);
        `digests` as in `ingest`."""
        rows, windows, devices = [], set(), {}
        for index, r in enumerate(readings):
            window = self.window_of(r["ts_ms"])
            digest = (digests and digests[index]) or digest_of(r, self.digest_key)
            rows.append([r["userId"], r["seq"], window, r["ts_ms"], r["heartrate"], rr_text(r),
                         digest, r.get("att"), r.get("signal")])
            windows.add((r["userId"], window))
            devices[r["userId"]] = max(devices.get(r["userId"], NEVER), r["ts_ms"])
        used = {row[7] for row in rows}
        return {"readings": rows, "windows": [[d, w, OPEN] for d, w in windows],
                "devices": [[d, ts, NEVER] for d, ts in devices.items()],
                "attestations": [[i, d, doc] for i, (d, doc) in (attestations or {}).items()
                                 if i in used]}

    def merge(self, state: dict, now: float | None = None) -> list[dict]:
        """Take another aggregator's state (replication, a hand-over, a sync, closing marks).

        Returns the orphans: readings with content that a closed window does not hold. A window
        that arrives closed comes with the keys of the readings its closer sent on (stored, or
        dead-lettered); a reading we hold for it beyond those, or a reading that arrives for a
        window already closed here, was acknowledged but is in no stored window. Each is kept
        in `unsent` (with its document) in the same transaction, never scrubbed away in
        silence, until storage holds it as a part of its window; the window's rows are
        scrubbed like the rest."""
        now = time.time() if now is None else now
        db = self._db
        # a row from a peer not yet upgraded has no attestation id (its window will be
        # dead-lettered as unattested by storage, never stored unchecked) and no signal
        rows = [(tuple(r) + (None, None))[:9] for r in state.get("readings", [])]
        arriving_closed = {(d, w) for d, w, s in state.get("windows", []) if s == CLOSED}
        closer_kept = {(r[0], r[1]) for r in rows if (r[0], r[2]) in arriving_closed}
        db.execute("BEGIN IMMEDIATE")
        try:
            with_content = {(r[0], r[2]) for r in rows if r[4] is not None}
            closed_here = set(self._windows_in(with_content | arriving_closed, CLOSED))
            orphans = self._content_of(arriving_closed - closed_here, closer_kept)
            arriving_late = [r for r in rows if r[4] is not None and (r[0], r[2]) in closed_here]
            if arriving_late:
                db.execute("DELETE FROM temp.incoming")
                db.executemany("INSERT OR IGNORE INTO temp.incoming VALUES (?, ?)",
                               [(r[0], r[1]) for r in arriving_late])
                known = set(db.execute(
                    "SELECT r.device, r.seq FROM temp.incoming i CROSS JOIN readings r "
                    "ON r.device = i.device AND r.seq = i.seq"))
                orphans += [(d, q, w, t, self._sealed(d, q, hr, rr), sig, att)
                            for d, q, w, t, hr, rr, _, att, sig in arriving_late
                            if (d, q) not in known]
            stored = [(d, q, w, t, None if hr is None else self._sealed(d, q, hr, rr), digest,
                       att, sig) for d, q, w, t, hr, rr, digest, att, sig in rows]
            db.executemany(_INSERT_READING.format("OR IGNORE"), stored)
            # a row we already held keeps its own document; linking one more is harmless, and
            # _scrub below unlinks (and drops) what closed windows named
            self._link_attestations([r for r in stored if r[4] is not None], {
                i: (d, doc) for i, d, doc in state.get("attestations", [])})
            # a window another aggregator closed is kept here from now for the dedupe
            # retention, then purged like ours (without closed_at the purge never found it:
            # a replica kept every reading's key it was ever sent)
            db.executemany(
                "INSERT INTO windows VALUES (?, ?, ?, ?) ON CONFLICT (device, window_start) "
                "DO UPDATE SET state = max(state, excluded.state), "
                "closed_at = coalesce(closed_at, excluded.closed_at)",
                [(d, w, s, now if s == CLOSED else None) for d, w, s in state.get("windows", [])])
            db.executemany(
                "INSERT INTO devices VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "max_ts = max(max_ts, excluded.max_ts), "
                "closed_through = max(closed_through, excluded.closed_through), "
                "last_update = max(last_update, excluded.last_update)",
                [(d, m, c, now) for d, m, c in state.get("devices", [])])
            kept = self._keep_unsent(orphans)  # before the scrub drops their documents
            self._scrub(list(arriving_closed | closed_here))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return kept

    def digests_held(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The digest we hold for each of these (device, seq) keys that we hold."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM temp.incoming")
            db.executemany("INSERT OR IGNORE INTO temp.incoming VALUES (?, ?)", keys)
            return {(d, q): digest for d, q, digest in db.execute(
                "SELECT r.device, r.seq, r.digest FROM temp.incoming i CROSS JOIN readings r "
                "ON r.device = i.device AND r.seq = i.seq")}
        finally:
            db.execute("COMMIT")

    def _windows_in(self, windows: set[tuple[str, int]], state: int) -> list[tuple[str, int]]:
        """Which of these windows are in `state` here (inside the caller's transaction)."""
        if not windows:
            return []
        self._db.execute("DELETE FROM temp.wanted")
        self._db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", windows)
        return self._db.execute(
            "SELECT w.device, w.window_start FROM temp.wanted x CROSS JOIN windows w "
            "ON w.device = x.device AND w.window_start = x.window_start WHERE w.state = ?",
            (state,)).fetchall()

    def _may_hold_unsent(self, sent: dict[tuple[str, int], list[dict]]) -> set[tuple[str, int]]:
        """The windows of `sent` that may hold a reading it lacks (inside the caller's
        transaction): those where some reading sent had no content, or where the count of
        readings holding content is not the count sent. Only those are read row by row
        (_content_of). A reading that reached a window after it was read adds to the count; a
        sent one loses its content only when its whole window is scrubbed (closed), orphans
        included. So an equal count means no orphan, and closing reads a window's readings
        once, not twice (the second read was ~10% of the loop's share of a round, 2026-12-06)."""
        counted = {key: len(readings) for key, readings in sent.items()
                   if all(r["heartrate"] is not None for r in readings)}
        unsure = set(sent) - set(counted)
        if not counted:
            return unsure
        db = self._db
        db.execute("DELETE FROM temp.wanted")
        db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", counted)
        holding = {(d, w): n for d, w, n in db.execute(
            "SELECT x.device, x.window_start, count(*) FROM temp.wanted x "
            "CROSS JOIN readings r INDEXED BY readings_window ON r.device = x.device "
            "AND r.window_start = x.window_start WHERE r.content IS NOT NULL "
            "GROUP BY x.device, x.window_start")}
        return unsure | {key for key, n in counted.items() if holding.get(key, 0) != n}

    def _content_of(self, windows: set[tuple[str, int]], but: set[tuple[str, int]]) -> list[tuple]:
        """The rows (device, seq, window_start, ts, sealed content, signal, att) still holding
        content in these windows, except those keyed (device, seq) in `but` (inside the
        caller's transaction). Closing passes every reading it sent on, so usually none is left;
        skipping them before a row is opened saves parsing every reading of every window
        closed."""
        if not windows:
            return []
        self._db.execute("DELETE FROM temp.wanted")
        self._db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", windows)
        return [row for row in self._db.execute(
                    "SELECT r.device, r.seq, r.window_start, r.ts, r.content, r.signal, r.att "
                    "FROM temp.wanted x CROSS JOIN readings r INDEXED BY readings_window "
                    "ON r.device = x.device AND r.window_start = x.window_start "
                    "WHERE r.content IS NOT NULL")
                if (row[0], row[1]) not in but]

    def _keep_unsent(self, rows: list[tuple]) -> list[dict]:
        """Keep orphan rows (as _content_of gives them) in `unsent`, each with the attestation
        document it names (inside the caller's transaction, before the scrub drops documents
        no open window names); returns them as readings, for the caller's count and log. Past
        `unsent_limit` rows, the rest are returned marked `"unkept": True`, for the caller to
        dead-letter: bounded, and still not dropped in silence."""
        if not rows:
            return []
        (held,) = self._db.execute("SELECT count(*) FROM unsent").fetchone()
        room = max(0, self.unsent_limit - held)
        unkept = [dict(_reading(d, q, t, *self._opened(d, q, content), sig), unkept=True)
                  for d, q, _, t, content, sig, _ in rows[room:]]
        rows = rows[:room]
        if not rows:
            return unkept
        names = list({row[6] for row in rows if row[6] is not None})
        docs: dict[str, str] = {}
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            docs.update(self._db.execute(
                f"SELECT id, doc FROM attestations WHERE id IN ({','.join('?' * len(chunk))})",
                chunk))
        self._db.executemany(_INSERT_UNSENT, [(d, q, w, t, content, sig, docs.get(att), None)
                                              for d, q, w, t, content, sig, att in rows])
        return [_reading(d, q, t, *self._opened(d, q, content), sig)
                for d, q, _, t, content, sig, _ in rows] + unkept

    def keep_late(self, readings: list[dict], attestations: dict[str, tuple[str, str]],
                  not_before: float) -> int:
        """Keep readings ingest judged late (their window closed here before they came) in
        `unsent`, to be stored as a part of their window from `not_before` on; as `ingest`
        takes them (`attestations`: id -> (device, document), named by each reading's "att").
        Bounded like the orphans (`unsent_limit`); returns how many were kept. A reading kept
        already stays as it was (a redelivery)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            (held,) = db.execute("SELECT count(*) FROM unsent").fetchone()
            kept = readings[:max(0, self.unsent_limit - held)]
            db.executemany(_INSERT_UNSENT, [
                (r["userId"], r["seq"], self.window_of(r["ts_ms"]), r["ts_ms"],
                 self._sealed(r["userId"], r["seq"], r["heartrate"], rr_text(r)),
                 r.get("signal"), (attestations.get(r.get("att")) or (None, None))[1], not_before)
                for r in kept])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(kept)

    def next_late_at(self) -> float | None:
        """When the first late reading kept in `unsent` may be sent (None: none is kept)."""
        (at,) = self._db.execute("SELECT min(not_before) FROM unsent").fetchone()
        return at

    def late_among(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of these (device, seq) in `unsent` were kept as late (`keep_late`)."""
        late = set()
        for i in range(0, len(keys), 400):
            chunk = keys[i:i + 400]
            late.update(self._db.execute(
                "SELECT device, seq FROM unsent WHERE not_before IS NOT NULL AND (device, seq) "
                f"IN (VALUES {','.join(['(?, ?)'] * len(chunk))})",
                [x for key in chunk for x in key]))
        return late

    def unsent(self, limit: int = 1_000, now: float | None = None
               ) -> list[tuple[str, int, list[dict], list[dict]]]:
        """Up to `limit` readings kept in `unsent` that may go (`now`: late ones past their
        `not_before`), by window: (device, window start, its readings as closing reads them,
        the attestation documents they name)."""
        now = time.time() if now is None else now
        by_window: dict[tuple[str, int], tuple[list[dict], dict[str, dict]]] = {}
        for d, q, w, t, content, sig, doc in self._db.execute(
                "SELECT device, seq, window_start, ts, content, signal, doc FROM unsent "
                "WHERE not_before IS NULL OR not_before <= ? "
                "ORDER BY device, window_start, ts, seq LIMIT ?", (now, limit)):
            heartrate, rr = self._opened(d, q, content)
            readings, docs = by_window.setdefault((d, w), ([], {}))
            readings.append({"seq": q, "ts_ms": t, "heartrate": heartrate, "rr": rr_list(rr),
                             "signal": sig})
            if doc is not None:
                docs.setdefault(doc, document_json.loads(doc))
        return [(d, w, readings, list(docs.values()))
                for (d, w), (readings, docs) in by_window.items()]

    def drop_unsent(self, keys: list[tuple[str, int]]) -> None:
        """Forget these (device, seq) orphans: storage holds them, or they were parked."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM unsent WHERE device = ? AND seq = ?", keys)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def closed_keys(self, windows: list[tuple[str, int]]) -> list[list]:
        """The (scrubbed) reading rows of closed windows: what their closing marks carry, so a
        replica can tell which of its readings the closer sent on (see `merge`)."""
        return [self._wire(r)[:7] for r in self._over_windows(
            windows, "r.device, r.seq, r.window_start, r.ts, r.content, r.digest, NULL, NULL", "")]

    # -- the aggregators we shared state with -------------------------------------------------
    def known_peers(self) -> set[str]:
        return {p for (p,) in self._db.execute("SELECT peer FROM peers")}

    def remember_peers(self, peers: set[str]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO peers VALUES (?)", [(p,) for p in peers])

    def drop(self, devices: list[str]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        # a device's documents are the ones its windows link to (closed windows' went already)
        db.executemany("DELETE FROM attestations WHERE id IN "
                       "(SELECT id FROM window_attestations WHERE device = ?)",
                       [(d,) for d in devices])
        for table in ("readings", "windows", "devices", "window_attestations"):
            db.executemany(f"DELETE FROM {table} WHERE device = ?", [(d,) for d in devices])
        db.execute("COMMIT")

    # -- closing ------------------------------------------------------------------------------
    def due(self, grace_ms: int, idle_close_ms: int, flush: bool = False,
            queued_since_ms: int | None = None) -> list[tuple]:
        """(device, window_start, state) of windows to close now, and of closings to retry.

        A window is due when its user's watermark (latest device time) passes end + grace, or
        when the user has fallen silent: the watermark of everyone else on this aggregator has
        moved idle_close_ms beyond that. Both are device time, so a backlog drained at any speed
        closes windows the same way. `flush` (this aggregator received nothing for a while:
        the stream has stopped) makes every open window due.

        `queued_since_ms`, the source watermark (the oldest send time of a message still in the
        queue, queues/base.py), holds back every window that ended less than the grace before
        it: readings for it that reached the queue in time may still be there, or in another
        master's batch, while later ones already moved the user's watermark on."""
        if flush:
            return self._db.execute(
                "SELECT device, window_start, state FROM windows WHERE state IN (?, ?) "
                "ORDER BY device, window_start", (OPEN, CLOSING)).fetchall()
        (overall,) = self._db.execute("SELECT max(max_ts) FROM devices").fetchone()
        overall = NEVER if overall is None else overall
        # No device is past the latest watermark: only windows that ended at least `grace`
        # before it can be due, and the (state, window_start) index finds just those — the
        # open windows still filling are never read.
        horizon = overall - self.window_ms - grace_ms
        if queued_since_ms is not None:
            horizon = min(horizon, queued_since_ms - self.window_ms - grace_ms)
        return self._db.execute(
            "SELECT w.device, w.window_start, w.state FROM windows w JOIN devices d "
            "ON d.device = w.device WHERE w.state = ? OR (w.state = ? AND w.window_start <= ? "
            "AND (d.max_ts >= w.window_start + ? OR ? >= w.window_start + ?)) "
            "ORDER BY w.device, w.window_start",
            (CLOSING, OPEN, horizon, self.window_ms + grace_ms, overall,
             self.window_ms + grace_ms + idle_close_ms)).fetchall()

    def mark_closed(self, sent: dict[tuple[str, int], list[dict]],
                    now: float | None = None) -> list[dict]:
        """Close windows after their readings in `sent` went on (stored and notified). Returns
        the orphans: readings that reached a window after it was read for closing (a merge from
        the replica meanwhile) — acknowledged, in no stored window; kept in `unsent` (merge's
        docstring) in the same transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            unsure = self._may_hold_unsent(sent)
            went = {(d, r["seq"]) for (d, w), readings in sent.items() if (d, w) in unsure
                    for r in readings}
            orphans = self._keep_unsent(self._content_of(unsure, went))
            self._mark(list(sent), CLOSED, time.time() if now is None else now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return orphans

    def mark(self, windows: list[tuple[str, int]], state: int, now: float | None = None) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._mark(windows, state, time.time() if now is None else now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _mark(self, windows: list[tuple[str, int]], state: int, now: float) -> None:
        db = self._db
        db.executemany(
            "INSERT INTO windows VALUES (?, ?, ?, ?) ON CONFLICT (device, window_start) "
            "DO UPDATE SET state = max(state, excluded.state), closed_at = excluded.closed_at",
            [(d, w, state, now) for d, w in windows])
        db.executemany(
            "INSERT INTO devices VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
            "closed_through = max(closed_through, excluded.closed_through)",
            [(d, NEVER, w, now) for d, w in windows])
        if state == CLOSED:
            self._scrub(windows)

    def _scrub(self, windows) -> None:
        """A closed window is stored (encrypted) by storage: what we keep of its readings until
        the dedupe retention ends is (device, seq, keyed digest) — no heart rate, no RR, and no
        attestation (its digests are keyed too, but it is no longer needed)."""
        db = self._db
        db.executemany("UPDATE readings SET content = NULL, att = NULL "
                       "WHERE device = ? AND window_start = ?", windows)
        db.execute("DELETE FROM temp.wanted")
        db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", windows)
        db.execute("DELETE FROM temp.unlinked")
        db.execute("INSERT OR IGNORE INTO temp.unlinked SELECT l.device, l.id FROM temp.wanted x "
                   "CROSS JOIN window_attestations l "
                   "ON l.device = x.device AND l.window_start = x.window_start")
        db.execute("DELETE FROM window_attestations WHERE (device, window_start) IN "
                   "(SELECT device, window_start FROM temp.wanted)")
        # a document stays while another window of its device (still open) names it: a call's
        # readings of one device can fall in two windows
        db.execute("DELETE FROM attestations WHERE id IN (SELECT u.id FROM temp.unlinked u "
                   "WHERE NOT EXISTS (SELECT 1 FROM window_attestations l "
                   "WHERE l.device = u.device AND l.id = u.id))")

    def window_readings(self, device: str, window_start: int) -> list[dict]:
        return self.readings_of([(device, window_start)])[(device, window_start)]

    def _over_windows(self, windows: list[tuple[str, int]], select: str, tail: str,
                      rows: str = "readings r INDEXED BY readings_window") -> list[tuple]:
        """Rows of `select` over each wanted window's `rows` (its readings, or its links to
        documents), in one query: CROSS JOIN keeps the wanted windows outside and INDEXED BY
        makes each a range lookup (left to itself the planner scans every reading stored to
        honour an ORDER BY)."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM temp.wanted")
            db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", windows)
            return db.execute(
                f"SELECT {select} FROM temp.wanted x CROSS JOIN {rows} "
                f"ON r.device = x.device AND r.window_start = x.window_start {tail}").fetchall()
        finally:
            db.execute("COMMIT")

    def readings_of(self, windows: list[tuple[str, int]]) -> dict[tuple[str, int], list[dict]]:
        """Each window's readings in device-time order, for many windows in one query."""
        out: dict[tuple[str, int], list[dict]] = {(d, w): [] for d, w in windows}
        opened = self._seal.text_opener()  # every reading of every window closed comes here
        for d, w, s, t, content, sig in self._over_windows(
                list(out), "r.device, r.window_start, r.seq, r.ts, r.content, r.signal",
                "ORDER BY x.device, x.window_start, r.ts, r.seq"):
            # a closed window's readings are scrubbed (heart rate and RR None): never sent on
            if content is None:
                heartrate = rr = None
            else:
                heartrate, rr = opened(content, f"{d}\x00{s}").split("|", 1)  # _row_id's text
                heartrate, rr = float(heartrate), rr_list(rr)
            out[(d, w)].append({"seq": s, "ts_ms": t, "heartrate": heartrate, "rr": rr,
                                "signal": sig})
        return out

    def attestations_of(self, windows: list[tuple[str, int]]) -> dict[tuple[str, int], list[dict]]:
        """The attestation documents each window's readings name (its links)."""
        out: dict[tuple[str, int], list[dict]] = {(d, w): [] for d, w in windows}
        parsed: dict[str, dict] = {}  # a document two windows share is parsed once
        for d, w, name, doc in self._over_windows(
                list(out), "r.device, r.window_start, r.id, a.doc",
                "JOIN attestations a ON a.id = r.id", rows="window_attestations r"):
            document = parsed.get(name)
            if document is None:
                document = parsed[name] = document_json.loads(doc)
            out[(d, w)].append(document)
        return out

    def devices(self) -> list[str]:
        return [d for (d,) in self._db.execute("SELECT device FROM devices")]

    def purge(self, retention_s: float, now: float | None = None, limit: int = 2_000) -> int:
        """Forget up to `limit` closed windows whose retention ended (a redelivery later than
        that is 'late'); returns how many. The caller repeats while a whole `limit` went, with
        a pause between: one transaction of every window expired since the last purge (30 s at
        1,000 windows/s, ten readings each) would hold the loop for seconds. Their documents
        went when they closed (_scrub); the windows_closed index finds just the expired ones."""
        cutoff = (time.time() if now is None else now) - retention_s
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM temp.wanted")
            db.execute("INSERT INTO temp.wanted SELECT device, window_start FROM windows "
                       "WHERE state = ? AND closed_at < ? LIMIT ?", (CLOSED, cutoff, limit))
            (expired,) = db.execute("SELECT count(*) FROM temp.wanted").fetchone()
            db.execute("DELETE FROM readings WHERE (device, window_start) IN "
                       "(SELECT device, window_start FROM temp.wanted)")
            db.execute("DELETE FROM windows WHERE (device, window_start) IN "
                       "(SELECT device, window_start FROM temp.wanted)")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return expired

    def close(self) -> None:
        self._db.close()
