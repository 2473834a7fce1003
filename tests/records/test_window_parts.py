"""A window's parts (store.add_to_window): readings that reach storage after their window was
written (a split brain's second closer, readings merged into an aggregator after it closed the
window) are kept as the window's next part, each reading in exactly one part, on both backends
(SQLite and the Firestore emulator); an SQLite store written before parts existed is upgraded."""

import os
import sqlite3
import threading

from records_support import DEVICE, OWNER, fresh_chain, window_payload

from services.records import WindowInput
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore
from services.records.validation import window_part_id

START = 0  # window_payload(0)'s window


def part(seqs: list[int]) -> WindowInput:
    """Window 0 with only these readings (seqs 0..9 in the full one)."""
    payload = window_payload(0)
    return WindowInput(OWNER, DEVICE, START, dict(
        payload, readings=[r for r in payload["readings"] if r["seq"] in seqs]))


def seqs_by_part(store) -> list[list[int]]:
    ids = [window_part_id(store.namespace, DEVICE, START, n) for n in range(16)]
    listed = {m.record_id for m in store.list_windows(OWNER)}
    assert listed <= set(ids), "every record of the owner is a part of window 0"
    return [[r["seq"] for r in store.get_window(rid)["readings"]] for rid in ids if rid in listed]


def test_readings_a_window_lacks__stored_as_its_next_part(store):
    base = store.put_windows([part([0, 1, 2])])[0]
    ref, added = store.add_to_window(part([1, 2, 3, 4]))
    assert ref.created and added == 2 and ref.record_id != base.record_id
    assert ref.record_id == window_part_id(store.namespace, DEVICE, START, 1)
    assert seqs_by_part(store) == [[0, 1, 2], [3, 4]]
    whole = window_payload(0)
    assert store.get_window(ref.record_id) == dict(whole, readings=whole["readings"][3:5])
    meta = store.window_meta(ref.record_id)
    assert (meta.owner, meta.device_id, meta.window_start_ms) == (OWNER, DEVICE, START)
    # a part is a record like any: waiting for its anchored batch
    assert {r.record_id for r in store.pending_unbatched(10)} == {base.record_id, ref.record_id}


def test_a_seq_held_with_other_content__conflicting_and_left_out_of_the_part(store):
    store.put_windows([part([0, 1])])
    replayed = part([1, 2])
    replayed.payload["readings"][0] = dict(replayed.payload["readings"][0], heartrate=150.0)
    assert [(r["seq"], r["heartrate"]) for r in store.conflicting_readings(replayed)] == [
        (1, 150.0)]
    assert store.conflicting_readings(part([0, 1, 2])) == []  # same content, or not held
    assert store.add_to_window(replayed)[1] == 1
    assert seqs_by_part(store) == [[0, 1], [2]]


def test_nothing_missing__no_part(store):
    store.put_windows([part([0, 1, 2])])
    assert store.add_to_window(part([0, 2])) is None
    assert seqs_by_part(store) == [[0, 1, 2]]


def test_no_window_yet__the_first_part_is_the_window_record(store):
    ref, added = store.add_to_window(part([5]))
    assert ref.record_id == store.put_windows([part([5, 6])])[0].record_id and added == 1
    assert seqs_by_part(store) == [[5]]


def test_an_erased_part__nothing_written_back(store):
    base = store.put_windows([part([0])])[0]
    store.erase(base.record_id)
    assert store.add_to_window(part([0, 1])) is None
    assert [m.erased for m in store.list_windows(OWNER)] == [True]


def test_writers_racing__each_reading_in_exactly_one_part(make_store):
    """Four writers on two store instances add overlapping readings to one window at once."""
    stores = [make_store(), make_store()]
    stores[0].put_windows([part([0])])
    wanted = [[0, 1, 2, 3], [2, 3, 4, 5], [5, 6, 7], [1, 7, 8, 9]]
    barrier = threading.Barrier(len(wanted))
    errors = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            stores[n % 2].add_to_window(part(wanted[n]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(len(wanted))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    parts = seqs_by_part(stores[0])
    assert sorted(seq for seqs in parts for seq in seqs) == list(range(10))


def test_sqlite_store_from_before_parts__upgraded_in_place(tmp_path):
    """A store whose windows table still holds each (device, start) once (Firestore never
    had such a constraint): opening it drops the constraint, keeping every row, and the
    window can take a part."""
    chain, keyring = fresh_chain(), Keyring(os.urandom(32))
    first = SqliteRecordStore(tmp_path / "records", chain, keyring)
    base = first.put_windows([part([0, 1])])[0]
    db_path = first.tables.db_path
    first.close()
    db = sqlite3.connect(db_path)
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(windows)"))
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'windows'").fetchone()
    old_sql = sql.replace("flag TEXT\n", "flag TEXT,\n  UNIQUE (device_id, window_start_ms)\n")
    assert "UNIQUE" in old_sql
    db.executescript(f"ALTER TABLE windows RENAME TO w0; {old_sql}; "
                     f"INSERT INTO windows SELECT {columns} FROM w0; DROP TABLE w0;")
    db.close()
    store = SqliteRecordStore(tmp_path / "records", chain, keyring)
    try:
        (sql,) = store.tables.connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'windows'").fetchone()
        assert "UNIQUE" not in sql
        assert store.get_window(base.record_id)["readings"][0]["seq"] == 0
        assert store.add_to_window(part([1, 2]))[1] == 1
        assert seqs_by_part(store) == [[0, 1], [2]]
    finally:
        store.close()


def test_a_racing_writers_unused_key__discarded_while_another_connection_reads(make_store):
    """The loser of a race for a window part (or a letter, or a bundle version) drops the key
    it minted: that must not wait for, or fail on, another connection's read transaction, as
    erasure's TRUNCATE checkpoint does (it failed a whole write under CI load)."""
    store = make_store()
    [(key_ref, _, wrapped)] = store.envelope.mint(1)
    store.keys.put_many([wrapped])
    reader = None
    if make_store.backend == "sqlite":
        (path,) = [row[2] for row in store.keys._conn.execute("PRAGMA database_list")
                   if row[1] == "main"]
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM record_keys").fetchone()  # holds a snapshot
    store.keys.discard([key_ref])
    assert store.keys.get(key_ref) is None
    if reader is not None:
        reader.rollback()
        reader.close()
