"""Orphans kept, not dead-lettered: readings a merge brings into a window closed here, readings a
closer's marks do not list, readings a merge added while closing read the window — each kept in
the window store's `unsent` table in the transaction that finds it, with the attestation
document it names, across a restart, until `drop_unsent` (roles/aggregation_unsent.py sends them
to storage as parts of their windows). A real WindowStore file each."""

import json

from services.peers.window_store import CLOSED, WindowStore

KEY = b"\x07" * 32


def reading(seq, ts, hr=70.0, att=None):
    out = {"userId": "dev", "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [850, 860]}
    if att is not None:
        out["att"] = att
    return out


def document(name: str, seqs) -> tuple[str, str]:
    """An attestation document as the window store keeps it: (device, its JSON)."""
    return "dev", json.dumps({"id": name, "body": {"readings": [[s, "d"] for s in seqs]}})


def as_sent(seq, ts, hr=70.0) -> dict:
    return {"seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [850, 860], "signal": None}


def test_merge_into_a_window_closed_here__kept_with_its_document_across_a_restart(tmp_path):
    here = WindowStore(tmp_path / "h.db", 10_000, KEY)
    there = WindowStore(tmp_path / "t.db", 10_000, KEY)
    here.ingest([reading(1, 1_000, att="a1")], attestations={"a1": document("a1", [1])})
    there.ingest([reading(1, 1_000, att="a1"), reading(2, 2_000, hr=91.0, att="a2")],
                 attestations={"a1": document("a1", [1]), "a2": document("a2", [2])})
    here.mark_closed(here.readings_of([("dev", 0)]))
    assert [o["seq"] for o in here.merge(there.export(["dev"]))] == [2]
    assert here.window_readings("dev", 0)[1]["heartrate"] is None  # the window still scrubbed

    reopened = WindowStore(tmp_path / "h.db", 10_000, KEY)
    assert reopened.unsent() == [("dev", 0, [as_sent(2, 2_000, 91.0)],
                                  [json.loads(document("a2", [2])[1])])]
    # kept once: the same merge again finds it held
    reopened.merge(there.export(["dev"]))
    assert [len(r) for _, _, r, _ in reopened.unsent()] == [1]
    reopened.drop_unsent([("dev", 2)])
    assert reopened.unsent() == []


def test_a_reading_the_closers_marks_do_not_list__kept_with_our_own_document(tmp_path):
    primary = WindowStore(tmp_path / "p.db", 10_000, KEY)
    replica = WindowStore(tmp_path / "r.db", 10_000, KEY)
    primary.ingest([reading(1, 1_000)])
    replica.ingest([reading(1, 1_000, att="a1"), reading(2, 2_000, att="a1")],
                   attestations={"a1": document("a1", [1, 2])})
    primary.mark_closed(primary.readings_of([("dev", 0)]))
    marks = {"windows": [["dev", 0, CLOSED]], "devices": [],
             "readings": primary.closed_keys([("dev", 0)])}
    assert [o["seq"] for o in replica.merge(marks)] == [2]
    [(device, start, readings, docs)] = replica.unsent()
    assert (device, start, readings) == ("dev", 0, [as_sent(2, 2_000)])
    assert docs == [json.loads(document("a1", [1, 2])[1])]  # the scrub dropped it elsewhere
    assert replica._db.execute("SELECT count(*) FROM attestations").fetchone() == (0,)


def test_a_reading_merged_while_closing_read_the_window__kept(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    store.ingest([reading(1, 1_000)])
    sent = store.readings_of([("dev", 0)])
    other = WindowStore(tmp_path / "o.db", 10_000, KEY)
    other.ingest([reading(2, 2_000, hr=88.0)])
    store.merge(other.export(["dev"]))
    assert [o["seq"] for o in store.mark_closed(sent)] == [2]
    assert store.unsent() == [("dev", 0, [as_sent(2, 2_000, 88.0)], [])]


def test_unsent_by_window_and_bounded(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000, KEY)
    other = WindowStore(tmp_path / "o.db", 10_000, KEY)
    store.ingest([reading(1, 1_000), reading(2, 11_000)])
    store.mark_closed(store.readings_of([("dev", 0), ("dev", 10_000)]))
    other.ingest([reading(3, 3_000), reading(4, 4_000), reading(5, 12_000)])
    store.merge(other.export(["dev"]))
    assert [(w, [r["seq"] for r in rs]) for _, w, rs, _ in store.unsent()] == [
        (0, [3, 4]), (10_000, [5])]
    assert [(w, [r["seq"] for r in rs]) for _, w, rs, _ in store.unsent(limit=2)] == [
        (0, [3, 4])]


def test_unsent_is_bounded__past_the_limit_orphans_come_back_unkept(tmp_path):
    here = WindowStore(tmp_path / "h.db", 10_000, KEY)
    there = WindowStore(tmp_path / "t.db", 10_000, KEY)
    here.unsent_limit = 2
    here.ingest([reading(1, 1_000)])
    there.ingest([reading(s, s * 1_000) for s in (1, 2, 3, 4)])
    here.mark_closed(here.readings_of([("dev", 0)]))
    orphans = here.merge(there.export(["dev"]))
    assert [(o["seq"], o.get("unkept", False)) for o in orphans] == [
        (2, False), (3, False), (4, True)]
    assert [r["seq"] for _, _, rs, _ in here.unsent() for r in rs] == [2, 3]
    assert orphans[2]["heartrate"] == 70.0, "an unkept orphan carries its reading, to park"
