"""Failing small and loudly, on SQLite and Firestore: a record that fails its checks costs only
itself, is alerted (record id, what failed), and a window is flagged; a key gone without an
erasure is `KeyMissing`, never `RecordErased`; before anchoring, the GCM tag decides (a wrong
stored hash of an authentic ciphertext is repaired, an inauthentic window never anchored)."""

import os

import pytest
from records_support import DEVICE, OWNER, flip, raw_window, window_payload, write_raw_window

from services.records import (
    KeyMissing,
    RecordErased,
    TamperDetected,
    WindowInput,
    crypto,
    merkle,
)


@pytest.fixture
def alerts(store):
    seen = []
    store.integrity.add_sink(seen.append)
    return seen


def _put(store, n=4):
    return store.put_windows(
        [WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i)) for i in range(n)])


def _anchor(store, refs, tx="0x" + "ab" * 32):
    root, proofs = merkle.build([r.ciphertext_sha256 for r in refs])
    store.record_batch(root, [r.record_id for r in refs], proofs, tx)
    return root


def test_tampered_window__only_it_fails__flagged_in_lists_and_alerted(store, alerts):
    refs = _put(store)
    bad = refs[1].record_id
    write_raw_window(store, bad, ciphertext=flip(bytes(raw_window(store, bad)["ciphertext"]), 30))
    with pytest.raises(TamperDetected):
        store.get_window(bad)
    assert [(a.record_id, a.problem, a.table) for a in alerts] == [(bad, "tampered", "windows")]
    listed = {m.record_id: m.flag for m in store.list_windows(OWNER)}
    assert listed == {r.record_id: ("tampered" if r.record_id == bad else None) for r in refs}
    assert [m.record_id for m in store.flagged_windows()] == [bad]
    for i in (0, 2, 3):
        assert store.get_window(refs[i].record_id) == window_payload(i)
    assert store.changes_since(OWNER, None)[-1].kind == "window_flagged"


def test_tampered_before_anchoring__kept_out_of_every_batch(store, alerts):
    """Ciphertext and its stored hash both rewritten: only the GCM tag can tell, and it does
    before the window reaches a batch (no anchor ever vouches for the forgery)."""
    refs = _put(store)
    bad = refs[2].record_id
    forged = flip(bytes(raw_window(store, bad)["ciphertext"]), 40)
    write_raw_window(store, bad, ciphertext=forged, ciphertext_sha256=crypto.sha256(forged))
    pending = store.pending_unbatched(100)
    assert {r.record_id for r in pending} == {refs[i].record_id for i in (0, 1, 3)}
    assert [(a.record_id, a.problem) for a in alerts] == [(bad, "tampered")]
    _anchor(store, pending)
    assert store.pending_unbatched(100) == []  # the flagged one is not offered again
    assert store.window_meta(bad).flag == "tampered" and store.window_meta(bad).batch_root is None
    assert store.pending_count() == 0


def test_stored_hash_rewritten_before_anchoring__repaired_from_the_authentic_ciphertext(
        store, alerts):
    refs = _put(store, 3)
    victim = refs[0]
    write_raw_window(store, victim.record_id, ciphertext_sha256=os.urandom(32))
    pending = store.pending_unbatched(100)
    assert {r.record_id: r.ciphertext_sha256 for r in pending}[victim.record_id] == (
        victim.ciphertext_sha256)
    assert [(a.record_id, a.problem) for a in alerts] == [(victim.record_id, "repaired")]
    assert raw_window(store, victim.record_id)["ciphertext_sha256"] == victim.ciphertext_sha256
    root = _anchor(store, pending)
    assert store.get_window(victim.record_id, expected_root=root) == window_payload(0)


def test_anchored_then_tampered__that_window_flagged__batch_siblings_verify(store, alerts):
    refs = _put(store)
    root = _anchor(store, refs)
    bad = refs[3].record_id
    write_raw_window(store, bad, ciphertext=flip(bytes(raw_window(store, bad)["ciphertext"]), 12))
    with pytest.raises(TamperDetected):
        store.get_window(bad, expected_root=root)
    assert store.window_meta(bad).flag == "tampered"
    for i in range(3):
        assert store.get_window(refs[i].record_id, expected_root=root) == window_payload(i)
    assert [a.record_id for a in alerts] == [bad]


def test_key_deleted_behind_the_store__key_missing_not_erased(store, alerts):
    refs = _put(store, 2)
    rid = refs[0].record_id
    key_ref = raw_window(store, rid)["key_ref"]
    wrapped = store.keys.get(key_ref)
    store.keys.destroy([key_ref])  # lost or deleted: nobody erased the record
    with pytest.raises(KeyMissing):
        store.get_window(rid)
    with pytest.raises(KeyMissing):
        store.record_key(rid)
    assert store.window_meta(rid).flag == "key_missing" and not store.window_meta(rid).erased
    assert {a.problem for a in alerts} == {"key_missing"}
    assert store.get_window(refs[1].record_id) == window_payload(1)
    assert [r.record_id for r in store.pending_unbatched(10)] == [refs[1].record_id]

    store.keys.put_many([wrapped])  # restored from the key backup
    assert store.get_window(rid) == window_payload(0)
    assert store.window_meta(rid).flag is None  # sound again: unflagged, back in the queue
    assert {r.record_id for r in store.pending_unbatched(10)} == {r.record_id for r in refs}


def test_erased_means_journaled__a_missing_key_after_erase_is_erased(store, alerts):
    refs = _put(store, 2)
    store.erase(refs[0].record_id)
    with pytest.raises(RecordErased):
        store.get_window(refs[0].record_id)
    with pytest.raises(RecordErased):
        store.record_key(refs[0].record_id)
    assert alerts == []


def test_ciphertext_dropped_without_erasure__tampered_not_erased(store, alerts):
    refs = _put(store, 2)
    write_raw_window(store, refs[1].record_id, ciphertext=None)
    with pytest.raises(TamperDetected):
        store.get_window(refs[1].record_id)
    assert store.window_meta(refs[1].record_id).flag == "tampered"


def test_bundle__key_deleted_behind_the_store__key_missing(store, alerts):
    bundle = "0x" + "be" * 32
    store.put_bundle(OWNER, bundle, 2, b"export")
    key_ref = store.tables.get("bundles", bundle)["key_ref"]
    store.keys.destroy([key_ref])
    with pytest.raises(KeyMissing):
        store.get_bundle(bundle)
    with pytest.raises(KeyMissing):
        store.record_key(bundle)
    assert [(a.record_id, a.problem, a.table) for a in alerts] == [
        (bundle, "key_missing", "bundles")] * 2


def test_dead_letters__one_unreadable__listed_without_payload_rest_intact(store, alerts):
    good = store.dead_letter("reading", b"good", "bad signature")
    bad = store.dead_letter("reading", b"bad", "bad signature")
    row = store.tables.get("dead_letters", bad)
    from services.records.tables import Write

    store.tables.commit([Write("update", "dead_letters", bad,
                               {"ciphertext": flip(bytes(row["ciphertext"]), 20)})])
    letters = {d.id: d.payload for d in store.dead_letters("reading")}
    assert letters == {good: b"good", bad: None}
    assert [(a.record_id, a.problem) for a in alerts] == [(bad, "tampered")]


def test_flag_sink_failure_does_not_hide_the_error(store):
    def broken(_alert):
        raise RuntimeError("pager down")

    store.integrity.add_sink(broken)
    refs = _put(store, 1)
    write_raw_window(store, refs[0].record_id, ciphertext=b"\x00" * 40)
    with pytest.raises(TamperDetected):
        store.get_window(refs[0].record_id)
    assert store.integrity.counts["tampered"] == 1
