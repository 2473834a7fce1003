from services.peers.assignment import primary_and_replica, ranked
from services.peers.window_store import CLOSED, CLOSING, WindowStore


def reading(seq, ts, hr=70.0, device="dev"):
    return {"userId": device, "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [850]}


def test_ingest__redelivery_is_duplicate__other_content_is_replay(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000)
    assert store.ingest([reading(1, 1_000)]) == ["accepted"]
    assert store.ingest([reading(1, 1_000)]) == ["duplicate"]
    assert store.ingest([reading(1, 1_000, hr=99.0)]) == ["replay"]


def test_closing_mark__later_readings_for_that_window_are_late(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    store.mark([("dev", 0)], CLOSING)
    assert store.ingest([reading(3, 9_000), reading(4, 13_000)]) == ["late", "accepted"]
    assert [r["seq"] for r in store.window_readings("dev", 0)] == [1]


def test_due__watermark_past_end_plus_grace(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000)
    store.ingest([reading(1, 1_000), reading(2, 12_000)])
    assert store.due(grace_ms=3_000, idle_close_ms=60_000) == []
    store.ingest([reading(3, 13_000)])
    assert store.due(grace_ms=3_000, idle_close_ms=60_000) == [("dev", 0, 0)]


def test_due__a_silent_user_closes_when_the_others_move_on__or_on_flush(tmp_path):
    store = WindowStore(tmp_path / "w.db", 10_000)
    store.ingest([reading(1, 1_000, device="quiet")])
    store.ingest([reading(1, 14_000, device="busy")])
    assert store.due(grace_ms=3_000, idle_close_ms=5_000) == []
    store.ingest([reading(2, 18_000, device="busy")])
    assert store.due(grace_ms=3_000, idle_close_ms=5_000) == [("quiet", 0, 0)]
    assert store.due(grace_ms=3_000, idle_close_ms=5_000, flush=True) == [
        ("busy", 10_000, 0), ("quiet", 0, 0)]


def test_merge__is_idempotent_and_keeps_the_furthest_state(tmp_path):
    primary = WindowStore(tmp_path / "p.db", 10_000)
    replica = WindowStore(tmp_path / "r.db", 10_000)
    primary.ingest([reading(1, 1_000), reading(2, 2_000)])
    primary.mark([("dev", 0)], CLOSED)
    replica.ingest([reading(3, 3_000)])
    for _ in range(2):
        replica.merge(primary.export(["dev"]))
    assert [r["seq"] for r in replica.window_readings("dev", 0)] == [1, 2, 3]
    assert replica.ingest([reading(4, 4_000)]) == ["late"]  # closed travelled with the state


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
    give exactly what json.dumps gave, or a redelivery after an upgrade would look like a replay."""
    import hashlib
    import json

    from services.peers.window_store import digest_of, rr_text

    for reading in ({"heartrate": 72.3, "ts_ms": 1_700_000_000_123, "rr": [812, 830]},
                    {"heartrate": 72.0, "ts_ms": 5, "rr": []}, {"heartrate": 61, "ts_ms": 0},
                    {"heartrate": 1e-05, "ts_ms": 2**53 - 1, "rr": [3000]}):
        material = json.dumps([reading["heartrate"], reading["ts_ms"], reading.get("rr") or []])
        assert digest_of(reading) == hashlib.sha256(material.encode()).hexdigest()[:32]
        assert rr_text(reading) == json.dumps(reading.get("rr") or [])
