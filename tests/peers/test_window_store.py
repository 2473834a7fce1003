from hypothesis import given, settings
from hypothesis import strategies as st

from services.peers.assignment import primary_and_replica, ranked
from services.peers.window_store import (
    CLOSED,
    CLOSING,
    NEVER,
    PAGE_SIZE,
    VERSION,
    WindowStore,
    digest_of,
    digests_of,
    rr_list,
    rr_text,
)

KEY = b"\x07" * 32  # the network's digest key


def reading(seq, ts, hr=70.0, device="dev"):
    return {"userId": device, "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [850]}


def test_ingest__redelivery_is_duplicate__other_content_is_replay(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert store.ingest([reading(1, 1_000)]) == ["accepted"]
    assert store.ingest([reading(1, 1_000)]) == ["duplicate"]
    assert store.ingest([reading(1, 1_000, hr=99.0)]) == ["replay"]


def test_closing_mark__later_readings_for_that_window_are_late(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    store.mark([("dev", 0)], CLOSING)
    assert store.ingest([reading(3, 9_000), reading(4, 13_000)]) == ["late", "accepted"]
    assert [r["seq"] for r in store.window_readings("dev", 0)] == [1]


def test_due__watermark_past_end_plus_grace(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    assert store.due(grace_ms=3_000, idle_close_ms=60_000) == []
    store.ingest([reading(3, 13_000)])
    assert store.due(grace_ms=3_000, idle_close_ms=60_000) == [("dev", 0, 0)]


def test_due__a_silent_user_closes_when_the_others_move_on__or_on_flush(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000, device="quiet")])
    store.ingest([reading(1, 14_000, device="busy")])
    assert store.due(grace_ms=3_000, idle_close_ms=5_000) == []
    store.ingest([reading(2, 18_000, device="busy")])
    assert store.due(grace_ms=3_000, idle_close_ms=5_000) == [("quiet", 0, 0)]
    assert store.due(grace_ms=3_000, idle_close_ms=5_000, flush=True) == [
        ("busy", 10_000, 0), ("quiet", 0, 0)]


def test_merge__is_idempotent_and_keeps_the_furthest_state(tmp_path):
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([reading(1, 1_000), reading(2, 2_000)])
    primary.mark([("dev", 0)], CLOSED)
    replica.ingest([reading(3, 3_000)])
    orphans = [replica.merge(primary.export(["dev"])) for _ in range(2)]
    assert [r["seq"] for r in replica.window_readings("dev", 0)] == [1, 2, 3]
    assert replica.ingest([reading(4, 4_000)]) == ["late"]  # closed travelled with the state
    # 3 was closed elsewhere without it: handed back once, as the reading it was
    assert orphans == [[{"userId": "dev", "seq": 3, "ts_ms": 3_000, "heartrate": 70.0,
                         "rr": [850]}], []]


def test_merge__content_for_a_window_already_closed_here__is_an_orphan(tmp_path):
    """A hand-over or sync that brings readings into a window this aggregator already closed
    (and stored without them): acknowledged readings in no stored window — handed back (and kept
    to be stored as a part of their window: test_window_store_unsent.py), the window's rows
    scrubbed; those it already had are not orphans."""
    here = WindowStore(tmp_path / "h.db", 10_000, KEY)
    there = WindowStore(tmp_path / "t.db", 10_000, KEY)
    here.ingest([reading(1, 1_000)])
    there.ingest([reading(1, 1_000), reading(2, 2_000, hr=91.0), reading(3, 12_000)])
    assert here.mark_closed(here.readings_of([("dev", 0)])) == []
    orphans = here.merge(there.export(["dev"]))
    assert [(o["seq"], o["heartrate"]) for o in orphans] == [(2, 91.0)]
    assert [r["heartrate"] for r in here.window_readings("dev", 0)] == [None, None]
    assert [r["heartrate"] for r in here.window_readings("dev", 10_000)] == [70.0]


def test_mark_closed__readings_that_came_after_the_window_was_read__are_orphans(tmp_path):
    """Between reading a window for closing and marking it closed, a merge from the replica can
    add a reading: it went nowhere, so it comes back as an orphan instead of being scrubbed."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000)])
    sent = store.readings_of([("dev", 0)])
    other = WindowStore(tmp_path / "o.db", 10_000, KEY)
    other.ingest([reading(2, 2_000)])
    assert store.merge(other.export(["dev"])) == []  # still open here: merged, not orphaned
    assert [o["seq"] for o in store.mark_closed(sent)] == [2]


def test_mark_closed__finds_the_one_window_of_many_that_gained_a_reading(tmp_path):
    """Closing counts each window's readings instead of reading them again: of three windows
    closed together, only the one a merge added to while it closed gives an orphan, and all
    three are scrubbed."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 11_000), reading(3, 21_000)])
    windows = [("dev", 0), ("dev", 10_000), ("dev", 20_000)]
    sent = store.readings_of(windows)
    other = WindowStore(tmp_path / "o.db", 10_000, KEY)
    other.ingest([reading(4, 12_000, hr=88.0)])
    assert store.merge(other.export(["dev"])) == []
    assert [(o["seq"], o["heartrate"]) for o in store.mark_closed(sent)] == [(4, 88.0)]
    assert all(r["heartrate"] is None for w in windows for r in store.window_readings(*w))


def test_mark_closed__a_window_read_with_a_reading_already_scrubbed_is_read_row_by_row(tmp_path):
    """A count cannot vouch for a window one of whose sent readings had no content: a reading
    that arrived later would make the count come out even. Such a window is read row by row."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 2_000)])
    store._db.execute("UPDATE readings SET content = NULL WHERE seq = 2")  # gone before the read
    sent = store.readings_of([("dev", 0)])
    assert [r["heartrate"] for r in sent[("dev", 0)]] == [70.0, None]
    other = WindowStore(tmp_path / "o.db", 10_000, KEY)
    other.ingest([reading(3, 3_000)])
    store.merge(other.export(["dev"]))  # two readings with content now: as many as were sent
    assert [o["seq"] for o in store.mark_closed(sent)] == [3]


def test_closing_marks_carry_what_went_on__the_replica_keeps_the_rest_apart(tmp_path):
    """The closer's marks list the readings it sent on; a replica holding one more orphans it."""
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([reading(1, 1_000)])
    replica.ingest([reading(1, 1_000), reading(2, 2_000)])
    primary.mark_closed(primary.readings_of([("dev", 0)]))
    marks = {"windows": [["dev", 0, CLOSED]], "devices": [],
             "readings": primary.closed_keys([("dev", 0)])}
    assert [o["seq"] for o in replica.merge(marks)] == [2]
    assert replica.merge(marks) == []


def test_known_peers__survive_a_restart(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.remember_peers({"peer-a", "peer-b"})
    store.remember_peers({"peer-a"})
    store.close()
    assert WindowStore(tmp_path / "w.db", 10_000, KEY).known_peers() == {"peer-a", "peer-b"}


def test_assignment__deterministic_and_moves_only_what_it_must():
    users = [f"user-{i}" for i in range(300)]
    three = ["agg-a", "agg-b", "agg-c"]
    before = {u: primary_and_replica(u, three) for u in users}
    assert before == {u: primary_and_replica(u, list(reversed(three))) for u in users}
    after = {u: primary_and_replica(u, three + ["agg-d"]) for u in users}
    moved = [u for u in users if after[u][0] != before[u][0]]
    assert moved and all(after[u][0] == "agg-d" for u in moved)
    # when the primary leaves, its replica takes over
    for user in users:
        primary, replica = before[user]
        remaining = [a for a in three if a != primary]
        assert ranked(user, remaining)[0] == replica


def test_digest__is_the_json_form_it_always_was():
    """Digests are persisted in aggregators' stores: building the text by hand (faster) must
    give exactly what json.dumps gives (the heart rate as a float, as SQLite returns it, so
    storage recomputes the master's digest), or a redelivery would look like a replay."""
    import hashlib
    import hmac
    import json

    from services.peers.window_store import digest_of, rr_text

    for reading in ({"heartrate": 72.3, "ts_ms": 1_700_000_000_123, "rr": [812, 830]},
                    {"heartrate": 72.0, "ts_ms": 5, "rr": []}, {"heartrate": 61, "ts_ms": 0},
                    {"heartrate": 1e-05, "ts_ms": 2**53 - 1, "rr": [3000]}):
        material = json.dumps([float(reading["heartrate"]), reading["ts_ms"],
                               reading.get("rr") or []])
        assert digest_of(reading, KEY) == hmac.new(KEY, material.encode(),
                                                   hashlib.sha256).hexdigest()[:32]
        assert rr_text(reading) == json.dumps(reading.get("rr") or [])


def test_closed_window__keeps_no_heart_rate__redelivery_still_a_duplicate(tmp_path):
    """Privacy at rest: once a window is closed (stored, encrypted, by storage), its readings
    keep only (device, seq, keyed digest) until the dedupe retention ends — on the primary and
    on the replica that learns of the closing by merge — and dedupe still works."""
    import sqlite3

    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([reading(1, 1_000, hr=181.0), reading(2, 12_000, hr=64.0)])
    replica.merge(primary.export(["dev"]))
    primary.mark([("dev", 0)], CLOSED)
    replica.merge(primary.export(["dev"]))
    for path in (tmp_path / "p.db", tmp_path / "r.db"):
        rows = sqlite3.connect(path).execute(
            "SELECT seq, content IS NULL, att FROM readings ORDER BY seq").fetchall()
        assert rows == [(1, 1, None), (2, 0, None)]
    assert primary.ingest([reading(1, 1_000, hr=181.0)]) == ["duplicate"]
    assert WindowStore(tmp_path / "o.db", 10_000, b"\x08" * 32).ingest(
        [reading(1, 1_000, hr=181.0)]) == ["accepted"]  # another key: another digest


def test_store_from_before_keyed_digests__upgraded_in_place(tmp_path):
    """An aggregator's file written by the previous version: plain digests, no attestation
    column, closed windows with heart rates. Opening it keys the digests (a redelivery is still
    a duplicate, not a replay) and scrubs the closed windows."""
    import hashlib
    import json
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript("""
        CREATE TABLE readings (device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER,
            hr REAL, rr TEXT, digest TEXT, PRIMARY KEY (device, seq)) WITHOUT ROWID;
        CREATE TABLE windows (device TEXT, window_start INTEGER, state INTEGER, closed_at REAL,
            PRIMARY KEY (device, window_start)) WITHOUT ROWID;
        CREATE TABLE devices (device TEXT PRIMARY KEY, max_ts INTEGER, closed_through INTEGER,
            last_update REAL);""")
    for seq, ts, window, state in ((1, 1_000, 0, CLOSED), (2, 12_000, 10_000, 0)):
        plain = hashlib.sha256(json.dumps([70.0, ts, [850]]).encode()).hexdigest()[:32]
        db.execute("INSERT INTO readings VALUES ('dev', ?, ?, ?, 70.0, '[850]', ?)",
                   (seq, window, ts, plain))
        db.execute("INSERT INTO windows VALUES ('dev', ?, ?, 0)", (window, state))
    db.execute("INSERT INTO devices VALUES ('dev', 12000, 0, 0)")
    db.commit()
    db.close()
    store = WindowStore(tmp_path / "old.db", 10_000, KEY)
    assert store.ingest([reading(2, 12_000)]) == ["duplicate"]
    assert sqlite3.connect(tmp_path / "old.db").execute(
        "SELECT seq, content IS NULL FROM readings ORDER BY seq").fetchall() == [(1, 1), (2, 0)]
    assert [(r["heartrate"], r["rr"]) for r in store.window_readings("dev", 10_000)] == [
        (70.0, [850])]


def test_due__held_back_until_the_source_watermark_passes_end_plus_grace(tmp_path):
    """Later readings moved the user's watermark past end + grace, but the queue still holds a
    message sent before that: readings for the window may be in it (or in another master's
    batch), so the window waits for the queue's oldest send time to pass end + grace."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(3, 14_000)])
    assert store.due(grace_ms=3_000, idle_close_ms=60_000) == [("dev", 0, 0)]
    assert store.due(grace_ms=3_000, idle_close_ms=60_000, queued_since_ms=12_000) == []
    assert store.due(grace_ms=3_000, idle_close_ms=60_000, queued_since_ms=13_000) == [
        ("dev", 0, 0)]
    # a stream that has stopped still flushes: no master is pulling anything
    assert store.due(grace_ms=3_000, idle_close_ms=60_000, flush=True,
                     queued_since_ms=0) == [("dev", 0, 0), ("dev", 10_000, 0)]


def test_store_with_attestations_by_random_key__upgraded_to_arrival_order(tmp_path):
    """user_version 3 kept attestations in a WITHOUT ROWID table keyed by their random id (a
    random page and an overflow page per document): opening it moves them to the table in
    arrival order, every document kept, a second copy still ignored."""
    import sqlite3

    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([dict(reading(1, 1_000), att="att-1")],
                 attestations={"att-1": ("dev", '{"doc": 1}')})
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    db.executescript("""
        DROP TABLE attestations;
        CREATE TABLE attestations (id TEXT PRIMARY KEY, device TEXT, doc TEXT) WITHOUT ROWID;
        INSERT INTO attestations VALUES ('att-1', 'dev', '{"doc": 1}');
        PRAGMA user_version = 3;""")
    db.close()
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert store.attestations_of([("dev", 0)]) == {("dev", 0): [{"doc": 1}]}
    store.ingest([dict(reading(2, 2_000), att="att-1")],
                 attestations={"att-1": ("dev", '{"doc": "again"}')})
    db = sqlite3.connect(tmp_path / "w.db")
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'attestations'").fetchone()
    assert "WITHOUT ROWID" not in sql
    assert db.execute("SELECT id, doc FROM attestations").fetchall() == [("att-1", '{"doc": 1}')]
    assert db.execute("PRAGMA user_version").fetchone() == (VERSION,)


def _documents(path) -> list[str]:
    import sqlite3

    return [i for (i,) in sqlite3.connect(path).execute("SELECT id FROM attestations ORDER BY id")]


def test_closing__drops_the_documents_no_open_window_names(tmp_path):
    """A call's document for a device can name readings in two of its windows: closing the
    first keeps it for the second, closing the second drops it; one only the first named goes
    with the first. Nothing is left for a purge to scan for."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([dict(reading(1, 1_000), att="call-0")],
                 attestations={"call-0": ("dev", '{"call": 0}')})
    store.ingest([dict(reading(2, 2_000), att="call-1"), dict(reading(3, 12_000), att="call-1")],
                 attestations={"call-1": ("dev", '{"call": 1}'),
                               "unnamed": ("dev", '{"call": "none of its readings"}')})
    assert store.attestations_of([("dev", 0), ("dev", 10_000)]) == {
        ("dev", 0): [{"call": 0}, {"call": 1}], ("dev", 10_000): [{"call": 1}]}
    assert _documents(tmp_path / "w.db") == ["call-0", "call-1"]
    store.mark([("dev", 0)], CLOSED)
    assert _documents(tmp_path / "w.db") == ["call-1"]
    assert store.attestations_of([("dev", 10_000)]) == {("dev", 10_000): [{"call": 1}]}
    store.mark([("dev", 10_000)], CLOSED)
    assert _documents(tmp_path / "w.db") == []


def test_purge__forgets_expired_windows_a_chunk_at_a_time__they_stay_late(tmp_path):
    """Each purge takes at most `limit` windows whose retention ended (the caller repeats, the
    loop let go between); a redelivery for a purged window is still late."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(seq, seq * 10_000) for seq in range(5)])
    store.mark([("dev", seq * 10_000) for seq in range(5)], CLOSED, now=100.0)
    assert store.purge(retention_s=10.0, now=105.0, limit=2) == 0
    assert [store.purge(retention_s=10.0, now=200.0, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert store.ingest([reading(0, 0)]) == ["late"]
    assert store.readings_of([("dev", 0)]) == {("dev", 0): []}


def _closed_marks(closer: WindowStore, windows: list[tuple[str, int]]) -> dict:
    """What a closer tells its replica once windows closed (aggregation_closing._marks_payloads)."""
    return {"windows": [[d, w, CLOSED] for d, w in windows],
            "devices": [[d, NEVER, w] for d, w in windows], "readings": closer.closed_keys(windows)}


def test_windows_another_aggregator_closed__purged_after_the_retention(tmp_path):
    """A replica learns of closes through merges: it keeps those windows (and each reading's
    key, for the dedupe) for the retention from when it learned, then purges them as the closer
    does. Without it every replica kept a row for every reading it was ever sent."""
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    readings = [reading(seq, seq * 1_000) for seq in range(5)]
    primary.ingest(readings)
    replica.merge(primary.rows_for(readings), now=100.0)
    primary.mark_closed(primary.readings_of([("dev", 0)]), now=100.0)
    assert replica.merge(_closed_marks(primary, [("dev", 0)]), now=100.0) == []
    assert replica.purge(retention_s=10.0, now=105.0) == 0
    assert replica.ingest([reading(0, 0)]) == ["duplicate"]
    assert replica.purge(retention_s=10.0, now=200.0) == 1
    assert replica.ingest([reading(0, 0)]) == ["late"]
    assert replica.readings_of([("dev", 0)]) == {("dev", 0): []}


def test_closed_marks_again__keep_the_time_first_learned(tmp_path):
    """A closed mark repeated (a retried round, a sync) does not move the retention on."""
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    replica.ingest([reading(1, 1_000)])
    marks = {"windows": [["dev", 0, CLOSED]], "devices": [["dev", NEVER, 0]]}
    replica.merge(marks, now=100.0)
    replica.merge(marks, now=150.0)
    assert replica.purge(retention_s=10.0, now=120.0) == 1


def test_store_with_merged_closes_lacking_closed_at__upgraded(tmp_path):
    """user_version 5 stored no closed_at for a window a merge closed (the purge never found
    it): opening it gives them the time of the upgrade, so they go after the retention."""
    import sqlite3
    import time

    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    store.mark([("dev", 0)], CLOSED, now=100.0)
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    db.executescript("UPDATE windows SET closed_at = NULL; PRAGMA user_version = 5;")
    db.close()
    before = time.time()
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert store.purge(retention_s=10.0, now=before + 5.0) == 0
    assert store.purge(retention_s=10.0, now=time.time() + 11.0) == 1
    assert store.readings_of([("dev", 10_000)])[("dev", 10_000)][0]["heartrate"] == 70.0


def test_hand_over__carries_the_devices_documents__drop_takes_them_away(tmp_path):
    """export carries the documents a device's open windows name (found by the device's links,
    not a scan of every document), merge keeps only the ones its rows name, drop removes them."""
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([dict(reading(1, 1_000, device="dev-a"), att="a-1"),
                    dict(reading(1, 1_000, device="dev-b"), att="b-1")],
                   attestations={"a-1": ("dev-a", '{"a": 1}'), "b-1": ("dev-b", '{"b": 1}')})
    state = primary.export(["dev-a"])
    assert state["attestations"] == [["a-1", "dev-a", '{"a": 1}']]
    state["attestations"].append(["stray", "dev-a", '{"named": "by no row"}'])
    replica.merge(state)
    assert replica.attestations_of([("dev-a", 0)]) == {("dev-a", 0): [{"a": 1}]}
    assert _documents(tmp_path / "r.db") == ["a-1"]
    primary.drop(["dev-a"])
    assert _documents(tmp_path / "p.db") == ["b-1"]
    assert primary.attestations_of([("dev-b", 0)]) == {("dev-b", 0): [{"b": 1}]}


def test_store_without_window_links__upgraded(tmp_path):
    """user_version 4 found a window's documents through its readings and left the unnamed
    ones to a purge that scanned every reading: opening it links each document to its open
    windows, drops the ones no reading names, and the index on `state` alone."""
    import sqlite3

    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([dict(reading(1, 1_000), att="call-1"), dict(reading(2, 12_000), att="call-1")],
                 attestations={"call-1": ("dev", '{"call": 1}')})
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    db.executescript("""
        DROP TABLE window_attestations;
        DROP INDEX windows_closed;
        CREATE INDEX windows_state ON windows (state);
        INSERT INTO attestations VALUES ('left-over', 'dev', '{"closed": "long ago"}');
        PRAGMA user_version = 4;""")
    db.close()
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert store.attestations_of([("dev", 0), ("dev", 10_000)]) == {
        ("dev", 0): [{"call": 1}], ("dev", 10_000): [{"call": 1}]}
    assert _documents(tmp_path / "w.db") == ["call-1"]
    db = sqlite3.connect(tmp_path / "w.db")
    indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "windows_state" not in indexes and "windows_closed" in indexes
    assert db.execute("PRAGMA user_version").fetchone() == (VERSION,)


def test_late_readings__kept_with_their_document__not_given_back_before_their_time(tmp_path):
    """keep_late keeps what ingest judged late (aggregation_unsent.py stores it as a part of
    its window once `not_before` passed); orphans of a merge have no such wait."""
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    store.mark([("dev", 0)], CLOSED)
    late = dict(reading(3, 9_000, hr=81.5), att="a-3", signal="rr")
    assert store.ingest([late]) == ["late"]
    assert store.keep_late([late], {"a-3": ("dev", '{"doc": 3}')}, not_before=500.0) == 1
    assert store.keep_late([late], {}, not_before=900.0) == 1, "kept once, as it was"
    assert store.next_late_at() == 500.0
    assert store.unsent(now=499.0) == []
    assert store.unsent(now=500.0) == [("dev", 0, [
        {"seq": 3, "ts_ms": 9_000, "heartrate": 81.5, "rr": [850], "signal": "rr"}],
        [{"doc": 3}])]
    assert store.late_among([("dev", 3), ("dev", 1)]) == {("dev", 3)}
    store.drop_unsent([("dev", 3)])
    assert store.next_late_at() is None


def test_store_from_before_late_readings_were_kept__upgraded(tmp_path):
    """user_version 6 had no `not_before` in `unsent`: opening adds it, what it held stays
    (orphans: sent at once)."""
    import sqlite3

    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    db.executescript("""
        DROP TABLE unsent;
        CREATE TABLE unsent (device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER,
            content BLOB, signal TEXT, doc TEXT, PRIMARY KEY (device, seq)) WITHOUT ROWID;
        PRAGMA user_version = 6;""")
    db.close()
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert store.keep_late([dict(reading(3, 9_000), signal="rr")], {}, not_before=1.0) == 1
    assert [len(rs) for _, _, rs, _ in store.unsent(now=1.0)] == [1]
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("PRAGMA user_version").fetchone() == (VERSION,)


def test_an_rr_text_reads_back_as_the_list_it_was():
    """rr_list reads rr_text's ints by msgspec; what is not a list of 64-bit ints (a float
    interval, a huge int, a text in another form) is read by the JSON parser as before."""
    for rr in ([], [812], [812, 790, 1204], [812.5, 790], [2**70], [-3]):
        assert rr_list(rr_text({"rr": rr})) == rr
    assert rr_list("[812,790]") == [812, 790]
    assert rr_list("[1.0]") == [1.0] and type(rr_list("[1.0]")[0]) is float


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"heartrate": st.floats(20, 300) | st.integers(20, 300),
     "ts_ms": st.integers(0, 2**53)},
    optional={"rr": st.none() | st.lists(st.integers(200, 2000) | st.floats(200, 2000),
                                         max_size=4)}), max_size=12))
def test_digests_of_a_batch_are_each_readings_digest(readings):
    """The batch form storage and the validation workers use writes each digest_of's text."""
    assert digests_of(readings, KEY) == [digest_of(r, KEY) for r in readings]


def test_store_with_readings_by_device__upgraded_to_arrival_order(tmp_path):
    """user_version 7 kept readings in a WITHOUT ROWID table keyed by (device, seq): opening it
    moves every row to the table in arrival order, sealed content and digests as they were, so
    an open window still reads back and a redelivery is still a duplicate."""
    import sqlite3

    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 12_000), reading(3, 13_000)])
    store.mark([("dev", 0)], CLOSED)
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    db.executescript("""
        CREATE TABLE old (device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER,
            content BLOB, digest TEXT, att TEXT, signal TEXT,
            PRIMARY KEY (device, seq)) WITHOUT ROWID;
        INSERT INTO old SELECT * FROM readings;
        DROP TABLE readings;
        ALTER TABLE old RENAME TO readings;
        CREATE INDEX readings_window ON readings (device, window_start);
        PRAGMA user_version = 7;""")
    db.close()
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    assert [r["heartrate"] for r in store.window_readings("dev", 10_000)] == [70.0, 70.0]
    assert [r["heartrate"] for r in store.window_readings("dev", 0)] == [None]  # still scrubbed
    assert store.ingest([reading(2, 12_000), reading(4, 14_000)]) == ["duplicate", "accepted"]
    db = sqlite3.connect(tmp_path / "w.db")
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'readings'").fetchone()
    assert "WITHOUT ROWID" not in sql
    assert db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'readings' AND "
                      "type = 'index' AND sql IS NOT NULL").fetchall() == [("readings_window",)]
    assert db.execute("PRAGMA user_version").fetchone() == (VERSION,)


def test_a_new_store_has_large_pages__an_older_file_keeps_its_own(tmp_path):
    """A store made now has PAGE_SIZE pages (a call dirties fewer of them); a file made with
    SQLite's default keeps 4-kB pages, and its WAL thresholds count in them."""
    import sqlite3

    assert WindowStore(tmp_path / "new.db", 10_000, KEY).page_size == PAGE_SIZE == 16_384
    sqlite3.connect(tmp_path / "old.db").execute("CREATE TABLE t (x)").connection.close()
    old = WindowStore(tmp_path / "old.db", 10_000, KEY)
    assert old.page_size == 4_096
    old.checkpoint_after(40 * 2**20)
    assert old.checkpoint_pages() == 10_240
