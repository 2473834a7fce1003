"""Firestore at production rates: the layout the store writes and the indexes it ships.

The emulator runs any query without its index and never throttles, so these tests do what it
cannot: every public method of the store is run on the emulator with the query log on, and
each query's shape is checked against the shipped firestore.indexes.json (a composite index where
Firestore needs one, no exemption where a single-field index serves it, no composite index that
no query uses); every field the store writes is indexed only if a query needs it; every time
field and bytes field is exempt; time-ordered scans lead with a shard."""

import os
import threading
import time

import pytest
from records_support import DEVICE, DOCTOR, OWNER, PROJECT, flip, fresh_chain, window_payload

from services.records import (
    PendingEmail,
    RecordStore,
    TamperDetected,
    WindowInput,
    firestore_indexes,
    merkle,
)
from services.records.firestore_client import make_client
from services.records.firestore_indexes import ASC, QueryShape
from services.records.firestore_store import FirestoreRecordStore
from services.records.firestore_tables import SHARDS, shard_of
from services.records.keystore import Keyring
from services.records.tables import Write

SPEC = firestore_indexes.load()
OTHER_DEVICE = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
PUBLIC_API = {name for name in dir(RecordStore) if not name.startswith("_")} - {"close"}


class Calls:
    """The store, noting which public methods were called."""

    def __init__(self, store):
        self.store, self.called = store, set()

    def __getattr__(self, name):
        self.called.add(name)
        return getattr(self.store, name)


@pytest.fixture
def fs_store(firestore_emulator):
    client = make_client(PROJECT, "(default)", firestore_emulator.host)
    store = FirestoreRecordStore(client, fresh_chain(), Keyring(os.urandom(32)))
    store.tables.query_log = []
    yield store
    store.close()


def _exercise(store) -> set[str]:
    """Every public method of the store, on real data. Returns the methods called."""
    s = Calls(store)
    s.register_device(DEVICE, OWNER, b"k" * 32)
    s.get_device(DEVICE)
    s.devices_of(OWNER)
    s.set_contacts(OWNER, ["pat@example.org"])
    s.get_contacts(OWNER)
    s.set_profile(OWNER, "Ada", "Europe/Berlin")
    s.get_profile(OWNER)
    s.link_doctor(OWNER, DOCTOR, "dr@example.org")
    s.get_doctor(OWNER)
    now_ms = int(time.time() * 1000)
    s.add_email_confirmation("ab" * 32, PendingEmail(OWNER, "new@example.org", "contact", None,
                                                     now_ms + 60_000))
    s.pending_emails(OWNER, now_ms)
    s.confirm_email("ab" * 32, now_ms)
    s.cancel_email_confirmation("cd" * 32)
    s.stop_emails(OWNER, "new@example.org")
    s.drop_email_confirmations(OWNER, "contact")
    s.patients_of_doctor(DOCTOR)
    cursor = s.latest_cursor(OWNER)
    first = s.put_window(OWNER, DEVICE, 0, window_payload(0))
    refs = [first, *s.put_windows([WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i))
                                   for i in range(1, 6)])]
    s.get_window(first.record_id)
    s.window_meta(first.record_id)
    s.list_windows(OWNER, since_ms=0, limit=10)
    s.list_windows_of_owners([OWNER], 0, 60_000)
    s.pending_count()
    pending = s.pending_unbatched(10)
    root, proofs = merkle.build([r.ciphertext_sha256 for r in pending])
    s.record_batch(root, [r.record_id for r in pending], proofs, None)
    s.mark_batch_anchored(root, "0x" + "ab" * 32)
    s.get_batch(root)
    s.proof_of(refs[1].record_id)
    s.get_window(refs[1].record_id, expected_root=root)
    bad = refs[2].record_id
    sealed = store.tables.get("windows", bad)["ciphertext"]
    store.tables.commit([Write("update", "windows", bad, {"ciphertext": flip(sealed, 20)})])
    with pytest.raises(TamperDetected):
        s.get_window(bad)
    s.flagged_windows()
    s.recheck_flagged()
    later = dict(window_payload(5), readings=window_payload(6)["readings"])  # seqs 5 lacks
    assert s.add_to_window(WindowInput(OWNER, DEVICE, 50_000, later))[1] == 10
    assert s.conflicting_readings(WindowInput(OWNER, DEVICE, 50_000, later)) == []
    bundle = "0x" + "be" * 32
    rec = s.put_bundle(OWNER, bundle, 2, b"export")
    s.get_bundle(bundle, expected_hash=rec.ciphertext_sha256)
    s.sealed_bundle(bundle, expected_hash=rec.ciphertext_sha256)
    s.bundle_meta(bundle)
    s.record_key(bundle)
    s.keyed_digest(b"subject", bundle.encode())  # reads no table: the master key only
    letter = s.dead_letter("reading", b"{}", "bad signature")
    s.dead_letters("reading", limit=10)
    s.dead_letters()
    s.dead_letter("reading", b"late", "late")
    s.retire_dead_letter("reading", b"late", "late")
    s.purge_retired_letters(int(time.time() * 1000) - 86_400_000)  # none that old: kept
    s.erase(letter)
    s.erase(refs[3].record_id)
    s.reapply_erasures()
    s.rotate_master_key(os.urandom(32))
    s.changes_since(OWNER, cursor)
    s.changes_since(OWNER, None, limit=5)
    s.trim_changes(int(time.time() * 1000) - 8 * 86_400_000)  # walks every owner's log
    stop = threading.Event()
    for _change in s.watch(OWNER, cursor, stop=stop):
        break
    s.register_device(OTHER_DEVICE, OWNER, b"k" * 32)
    s.unregister_device(OTHER_DEVICE, OWNER)
    s.location()
    return s.called


def test_exercise_reaches_every_public_method(fs_store):
    assert PUBLIC_API - _exercise(fs_store) == set()


def test_shipped_indexes_serve_every_query_the_store_runs(fs_store):
    _exercise(fs_store)
    shapes = set(fs_store.tables.query_log)
    assert len(shapes) >= 10  # the log works: many distinct queries were recorded
    assert firestore_indexes.check(shapes, SPEC) == []


def test_legacy_layout_migration_queries_are_served_too(firestore_emulator):
    client = make_client(PROJECT, "(default)", firestore_emulator.host)
    chain = fresh_chain()
    root = client.collection("pulseledger_chains").document(chain.namespace)
    root.set({"chain": "{}"})  # a namespace written before layout 2
    store = FirestoreRecordStore(client, chain, Keyring(os.urandom(32)), create=True)
    log = store.tables.query_log = []
    store.tables._migrate()
    assert {s.collection_group for s in log} == {"windows", "dead_letters"}
    assert all(firestore_indexes.missing(s, SPEC) is None for s in log)
    store.close()


def _documents(client, namespace):
    """{collection group: {field: [values]}} of everything under the namespace and its keys."""
    found: dict[str, dict[str, list]] = {}

    def walk(collection):
        # list_documents also yields documents that exist only as parents (owners/{owner})
        for ref in collection.list_documents():
            for name, value in (ref.get().to_dict() or {}).items():
                found.setdefault(collection.id, {}).setdefault(name, []).append(value)
            for sub in ref.collections():
                walk(sub)

    chain_doc = client.collection("pulseledger_chains").document(namespace)
    for name, value in chain_doc.get().to_dict().items():
        found.setdefault("pulseledger_chains", {}).setdefault(name, []).append(value)
    for collection in chain_doc.collections():
        walk(collection)
    for collection in client.collection("pulseledger_keys").document(namespace).collections():
        walk(collection)
    return found


def _single_field_needs(shapes) -> set[tuple[str, str]]:
    needs = set()
    for shape in shapes:
        if firestore_indexes.required_composite(shape) is None:
            fields = {*shape.equalities, *shape.ranges, *(f for f, _ in shape.orders)}
            needs |= {(shape.collection_group, f) for f in fields}
    return needs


def test_every_written_field_is_indexed_only_if_a_query_needs_it(fs_store, firestore_emulator):
    _exercise(fs_store)
    client = make_client(PROJECT, "(default)", firestore_emulator.host)
    documents = _documents(client, fs_store.namespace)
    client.close()
    assert {"windows", "batches", "bundles", "devices", "contacts", "doctors", "dead_letters",
            "changes", "erasures", "record_keys", "pulseledger_chains"} <= set(documents)
    needed = _single_field_needs(set(fs_store.tables.query_log))
    problems = []
    for group, fields in documents.items():
        for field, values in fields.items():
            exempt = firestore_indexes.exempted(SPEC, group, field)
            if (group, field) in needed and exempt:
                problems.append(f"{group}.{field}: queried but exempted")
            if (group, field) not in needed and not exempt:
                problems.append(f"{group}.{field}: indexed but no query needs it")
            if field.endswith("_ms") and not exempt:
                problems.append(f"{group}.{field}: a time field with a single-field index")
            if any(isinstance(v, bytes) for v in values) and not exempt:
                problems.append(f"{group}.{field}: bytes indexed")
            if any(v is None for v in values):
                problems.append(f"{group}.{field}: an indexed null (absence is no field)")
    assert problems == []


def test_time_ordered_composites_lead_with_a_shard_or_a_patient():
    """500 writes/s is the limit per index range that grows with time: each composite ending in
    a time field is split by a shard (16 ranges) or the patient's address before it."""
    for index in SPEC["indexes"]:
        fields = [f["fieldPath"] for f in index["fields"]]
        if fields[-1].endswith("_ms"):
            assert {"owner", "pending_shard", "shard", "retired_shard"} & set(fields[:-1]), fields


def test_pending_windows_spread_over_every_shard_and_leave_it_when_anchored(fs_store,
                                                                           firestore_emulator):
    refs = fs_store.put_windows([WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i))
                                 for i in range(160)])
    client = make_client(PROJECT, "(default)", firestore_emulator.host)
    windows = client.collection("pulseledger_chains").document(fs_store.namespace).collection(
        "windows")
    shards = [s.get("pending_shard") for s in windows.stream()]
    assert sorted(set(shards)) == list(range(SHARDS))
    assert max(shards.count(n) for n in range(SHARDS)) <= 3 * len(shards) // SHARDS
    assert shards.count(shard_of(refs[0].record_id)) >= 1
    pending = fs_store.pending_unbatched(1000)
    # one put_windows shares one created_ms: the 16 ranges merge in (created_ms, record id) order
    assert [r.record_id for r in pending] == sorted(r.record_id for r in refs)
    root, proofs = merkle.build([r.ciphertext_sha256 for r in pending])
    fs_store.record_batch(root, [r.record_id for r in pending], proofs, "0x" + "cd" * 32)
    assert all("pending_shard" not in s.to_dict() for s in windows.stream())
    client.close()


@pytest.mark.parametrize("shape, spec, expected", [
    (QueryShape("w", ("a",), ("t",), (("t", ASC),)), {"indexes": []}, "no composite index"),
    (QueryShape("w", ("a",)), {"fieldOverrides": [
        {"collectionGroup": "w", "fieldPath": "a", "indexes": []}]}, "exempted"),
    (QueryShape("w", (), (), (("t", "DESCENDING"),)), {"fieldOverrides": [
        {"collectionGroup": "w", "fieldPath": "t",
         "indexes": [{"order": ASC, "queryScope": "COLLECTION"}]}]}, "exempted"),
    (QueryShape("w", ("a", "b"), (), (("t", ASC),)), {"indexes": [
        {"collectionGroup": "w", "queryScope": "COLLECTION",
         "fields": [{"fieldPath": "b", "order": ASC}, {"fieldPath": "a", "order": ASC},
                    {"fieldPath": "t", "order": ASC}]}]}, None),
    (QueryShape("w", ("a",), (), (("t", "DESCENDING"),)), {"indexes": [
        {"collectionGroup": "w", "queryScope": "COLLECTION",
         "fields": [{"fieldPath": "a", "order": ASC}, {"fieldPath": "t", "order": ASC}]}]},
     "no composite index"),
])
def test_index_checker__says_what_production_would_refuse(shape, spec, expected):
    found = firestore_indexes.missing(shape, spec)
    assert (found is None) if expected is None else (expected in found)


def test_index_checker__reports_a_composite_no_query_uses():
    spec = {"indexes": [{"collectionGroup": "w", "queryScope": "COLLECTION", "fields": [
        {"fieldPath": "a", "order": ASC}, {"fieldPath": "t", "order": ASC}]}]}
    assert firestore_indexes.check({QueryShape("w", ("a",))}, spec) == [
        "composite index w (a, t) serves no query"]
    assert firestore_indexes.check({QueryShape("w", ("a",), ("t",), (("t", ASC),))}, spec) == []
