"""An aggregator's open windows keep no heart rate or RR in plaintext at rest: not in its SQLite
file, not in its WAL, whether the readings arrived from a master or were replicated from another
aggregator; what the store gives back (closing, export, dead letters) is the readings as they
arrived; a sealed value moved to another row does not open; a store from before sealing is sealed
in place when it is first opened."""

import sqlite3
import struct

import pytest
from cryptography.exceptions import InvalidTag

from services.peers.window_store import CLOSED, WindowStore

KEY = b"\x07" * 32  # the network's digest key
HEART_RATE, RR = 187.25, 1234


def reading(seq, ts, hr=HEART_RATE, device="dev"):
    return {"userId": device, "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [RR, 567],
            "signal": "beat-to-beat"}


def plain_in(disk: bytes) -> bool:
    """The heart rate as text or as SQLite stores a REAL (8-byte big-endian), or the RR text."""
    return any(v in disk for v in (b"187.25", struct.pack(">d", HEART_RATE), b"1234"))


def on_disk(directory, name):
    """The database file and its WAL, as a copied disk would show them (not the key)."""
    return b"".join(p.read_bytes() for p in directory.glob(f"{name}*")
                    if not p.name.endswith(".key"))


def test_open_windows_sealed_in_file_and_wal__on_primary_and_replica(tmp_path):
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([reading(1, 1_000), reading(2, 2_000)])
    replica.merge(primary.rows_for([reading(1, 1_000), reading(2, 2_000)]))
    for name in ("p.db", "r.db"):
        assert not plain_in(on_disk(tmp_path, name))
        assert (tmp_path / f"{name}.key").stat().st_mode & 0o077 == 0
    for store in (primary, replica):
        assert [(r["heartrate"], r["rr"], r["signal"]) for r in store.window_readings("dev", 0)] \
            == [(HEART_RATE, [RR, 567], "beat-to-beat")] * 2


def test_export_and_orphans_carry_the_readings_open(tmp_path):
    """Export (hand-over, sync) sends the values and the declared signal to the other
    aggregator; a reading left in a window closed elsewhere comes back whole (kept, to be
    stored as a part of its window)."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000)])
    [row] = store.export(["dev"])["readings"]
    assert row[4:6] == [HEART_RATE, f"[{RR}, 567]"] and row[8] == "beat-to-beat"
    closer = WindowStore(tmp_path / "c.db", 10_000, KEY)
    closer.merge({"windows": [["dev", 0, CLOSED]], "devices": [["dev", 1_000, 0]]})
    [orphan] = store.merge(closer.export(["dev"]))
    assert (orphan["heartrate"], orphan["rr"], orphan["signal"]) == (
        HEART_RATE, [RR, 567], "beat-to-beat")


def test_sealed_value_moved_to_another_row__does_not_open(tmp_path):
    """The seal binds each value to its (device, seq): whoever can write the file cannot make
    one reading's heart rate pass for another's without the store noticing."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000, hr=60.0), reading(2, 2_000, hr=150.0)])
    db = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    (sealed,) = db.execute("SELECT content FROM readings WHERE seq = 2").fetchone()
    db.execute("UPDATE readings SET content = ? WHERE seq = 1", (sealed,))
    with pytest.raises(InvalidTag):
        store.window_readings("dev", 0)


def test_store_from_before_sealing__sealed_in_place(tmp_path):
    """A file of the previous version (user_version 2: heart rate and RR in plain columns):
    opening it seals what open windows hold, drops the plain columns and leaves no plaintext
    in the file or its WAL; dedupe and closing read on as before."""
    path = tmp_path / "old.db"
    old = WindowStore(path, 10_000, KEY)
    old.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("""
        DROP TABLE readings;
        CREATE TABLE readings (device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER,
            hr REAL, rr TEXT, digest TEXT, att TEXT, signal TEXT,
            PRIMARY KEY (device, seq)) WITHOUT ROWID;
        PRAGMA user_version = 2;""")
    fresh = WindowStore(tmp_path / "digests.db", 10_000, KEY)
    # enough readings to span many pages, as an aggregator's file does
    db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", fresh.rows_for(
        [reading(seq, seq) for seq in range(1, 2_001)])["readings"])
    db.execute("INSERT INTO windows VALUES ('dev', 0, 0, NULL)")
    db.execute("INSERT INTO devices VALUES ('dev', 2000, ?, 0)", (-(2**62),))
    db.close()
    assert plain_in(on_disk(tmp_path, "old.db"))
    store = WindowStore(path, 10_000, KEY)
    assert not plain_in(on_disk(tmp_path, "old.db"))  # no free page or WAL frame keeps it
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(readings)")}
    assert "hr" not in columns and "rr" not in columns
    assert store.ingest([reading(1, 1)]) == ["duplicate"]
    assert {r["heartrate"] for r in store.window_readings("dev", 0)} == {HEART_RATE}
