"""The record store's contract, run against SQLite and the Firestore emulator."""

import os

import pytest
from records_support import DEVICE, DOCTOR, OTHER, OWNER, fresh_chain, window_payload

from services.records import (
    Conflict,
    InvalidInput,
    NotAnchored,
    RecordErased,
    RecordNotFound,
    WindowInput,
    merkle,
)
from services.records import validation as v
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore
from services.records.tables import Tables

KEY = os.urandom(32)


# ------------------------------------------------------------------------------- onboarding
def test_device__register_and_get(store):
    store.register_device(DEVICE, OWNER, KEY)
    device = store.get_device(DEVICE)
    assert (device.device_id, device.owner, device.public_key) == (DEVICE, OWNER, KEY)
    assert store.devices_of(OWNER) == [device]
    assert store.get_device("12D3KooWUnknown") is None
    assert store.get_device("../../etc") is None and store.get_device("") is None


def test_devices__many_in_one_read__unknown_and_malformed_left_out(store):
    store.register_device(DEVICE, OWNER, KEY)
    found = store.get_devices([DEVICE, "12D3KooWUnknown", "../../etc", "", DEVICE])
    assert found == {DEVICE: store.get_device(DEVICE)}
    assert store.get_devices([]) == {}


def test_device__same_owner_rekeys__other_owner_conflicts(store):
    store.register_device(DEVICE, OWNER.upper().replace("0X", "0x"), KEY)
    new_key = os.urandom(32)
    store.register_device(DEVICE, OWNER, new_key)
    assert store.get_device(DEVICE).public_key == new_key
    with pytest.raises(Conflict):
        store.register_device(DEVICE, OTHER, KEY)
    assert store.get_device(DEVICE).owner == OWNER


def test_device__unregistered_by_its_owner_only__then_free_to_pair_again(store):
    """Unpairing: another owner's request changes nothing (and says nothing about whose it is);
    the owner's removes it (readings are refused from then on), its windows stay the owner's,
    and the device may be paired again, by anyone."""
    store.register_device(DEVICE, OWNER, KEY)
    store.put_window(OWNER, DEVICE, 0, window_payload(0))
    assert store.unregister_device(DEVICE, OTHER) is False
    assert store.get_device(DEVICE).owner == OWNER
    assert store.unregister_device(DEVICE, OWNER) is True
    assert store.get_device(DEVICE) is None and store.get_devices([DEVICE]) == {}
    assert store.devices_of(OWNER) == []
    assert [w.device_id for w in store.list_windows(OWNER, since_ms=0, limit=10)] == [DEVICE]
    assert [c.kind for c in store.changes_since(OWNER, None)][-1] == "device_unregistered"
    assert store.unregister_device(DEVICE, OWNER) is False  # nothing left to remove
    store.register_device(DEVICE, OTHER, KEY)
    assert store.get_device(DEVICE).owner == OTHER


@pytest.mark.parametrize(
    "device_id, owner, key",
    [
        ("", OWNER, KEY),
        ("bad id with spaces", OWNER, KEY),
        (DEVICE, "0x123", KEY),
        (DEVICE, OWNER, b"short"),
    ],
)
def test_device__bad_input__rejected_and_nothing_stored(store, device_id, owner, key):
    with pytest.raises(InvalidInput):
        store.register_device(device_id, owner, key)
    assert store.devices_of(OWNER) == []


def test_contacts__replace_dedupe_and_validate(store):
    assert store.get_contacts(OWNER) == []
    store.set_contacts(OWNER, ["pat@example.org", "pat@example.org", "kin@example.org"])
    assert store.get_contacts(OWNER) == ["pat@example.org", "kin@example.org"]
    store.set_contacts(OWNER, ["new@example.org"])
    assert store.get_contacts(OWNER) == ["new@example.org"]
    with pytest.raises(InvalidInput) as err:
        store.set_contacts(OWNER, ["not-an-email"])
    assert "not-an-email" not in str(err.value)  # emails never echoed into errors/logs
    assert store.get_contacts(OWNER) == ["new@example.org"]


def test_doctor__link_and_reverse_lookup(store):
    assert store.get_doctor(OWNER) is None
    store.link_doctor(OWNER, DOCTOR, "dr@example.org")
    store.link_doctor(OTHER, DOCTOR, "dr@example.org")
    doctor = store.get_doctor(OWNER)
    assert (doctor.address, doctor.email) == (DOCTOR, "dr@example.org")
    assert store.patients_of_doctor(DOCTOR) == sorted([OWNER, OTHER])


# ---------------------------------------------------------------------------------- windows
def test_window__put_then_get__round_trips(store):
    ref = store.put_window(OWNER, DEVICE, 1_700_000_000_000, window_payload(3))
    assert ref.created and len(ref.ciphertext_sha256) == 32 and ref.record_id.startswith("0x")
    assert store.get_window(ref.record_id) == window_payload(3)
    meta = store.window_meta(ref.record_id)
    assert (meta.owner, meta.device_id, meta.window_start_ms) == (OWNER, DEVICE, 1_700_000_000_000)
    assert meta.ciphertext_sha256 == ref.ciphertext_sha256 and not meta.erased


def test_window__second_put__returns_existing_and_stores_nothing(store):
    first = store.put_window(OWNER, DEVICE, 10_000, window_payload(1))
    second = store.put_window(OWNER, DEVICE, 10_000, window_payload(2))
    assert not second.created
    assert (second.record_id, second.ciphertext_sha256) == (
        first.record_id,
        first.ciphertext_sha256,
    )
    assert store.get_window(first.record_id) == window_payload(1)
    assert len(store.list_windows(OWNER)) == 1
    assert [c.kind for c in store.changes_since(OWNER, None)] == ["window_added"]


def test_window__ciphertext_is_not_plaintext(store):
    from records_support import raw_window

    ref = store.put_window(OWNER, DEVICE, 0, {"marker": "PLAINTEXT-MARKER-123"})
    assert b"PLAINTEXT-MARKER-123" not in bytes(raw_window(store, ref.record_id)["ciphertext"])


def test_put_windows__batch_with_duplicates_and_existing(store):
    store.put_window(OWNER, DEVICE, 0, window_payload(0))
    inputs = [WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i)) for i in range(5)]
    inputs.append(WindowInput(OWNER, DEVICE, 10_000, window_payload(99)))  # duplicate in batch
    refs = store.put_windows(inputs)
    assert [r.created for r in refs] == [False, True, True, True, True, False]
    assert refs[5].record_id == refs[1].record_id
    assert store.get_window(refs[1].record_id) == window_payload(1)
    assert len(store.list_windows(OWNER)) == 5


def test_put_windows__bad_item__rejects_whole_call(store):
    inputs = [WindowInput(OWNER, DEVICE, 0, window_payload()), WindowInput(OWNER, DEVICE, -5, {})]
    with pytest.raises(InvalidInput):
        store.put_windows(inputs)
    assert store.list_windows(OWNER) == []


@pytest.mark.parametrize("payload", [{"x": float("nan")}, {"x": object()}, ["not", "a", "dict"]])
def test_window__unserialisable_payload__rejected(store, payload):
    with pytest.raises(InvalidInput):
        store.put_window(OWNER, DEVICE, 0, payload)


def test_list_windows__per_owner_ordered_since_and_limit(store):
    for i in (3, 1, 2):
        store.put_window(OWNER, DEVICE, i * 10_000, window_payload(i))
    store.put_window(OTHER, "12D3KooWOther", 15_000, window_payload())
    starts = [m.window_start_ms for m in store.list_windows(OWNER)]
    assert starts == [10_000, 20_000, 30_000]
    assert [m.window_start_ms for m in store.list_windows(OWNER, since_ms=20_000)] == [
        20_000,
        30_000,
    ]
    assert len(store.list_windows(OWNER, limit=1)) == 1


def test_list_windows_of_owners__each_owners_windows_in_the_start_range(store):
    """One read for many owners (a notification peer catching up a round's users): every
    window of the owners asked, from since_ms (inclusive) to until_ms (exclusive), in start
    order per owner; another owner's windows never."""
    for i in range(1, 5):
        store.put_window(OWNER, DEVICE, i * 10_000, window_payload(i))
    for start in (15_000, 25_000):
        store.put_window(OTHER, "12D3KooWOther", start, window_payload())
    store.put_window(DOCTOR, "12D3KooWNotAsked", 20_000, window_payload())
    found = store.list_windows_of_owners([OWNER, OTHER], 20_000, 40_000)
    by_owner = {owner: [m.window_start_ms for m in found if m.owner == owner]
                for owner in (OWNER, OTHER, DOCTOR)}
    assert by_owner == {OWNER: [20_000, 30_000], OTHER: [25_000], DOCTOR: []}
    assert store.list_windows_of_owners([OWNER], 40_000, 40_000) == []
    assert store.list_windows_of_owners([], 0, 50_000) == []


def test_windows_of_owners__one_query_per_500_owners_agrees_with_the_paged_default(tmp_path):
    """SQLite's own form (owner IN (...), 500 owners a query) returns what the generic form
    does (windows_of, 500 rows a page, per owner: what Firestore runs), past a page of one
    owner, past a chunk of owners, with several devices' windows at one start."""
    store = SqliteRecordStore(tmp_path / "records", fresh_chain(), Keyring(os.urandom(32)))
    owners = ["0x" + f"{i:040x}" for i in range(503)]
    inputs = [WindowInput(owners[0], f"12D3KooWMany{d}", start, window_payload())
              for d in range(2) for start in range(0, 3_100_000, 10_000)]  # 620: two pages
    inputs += [WindowInput(owner, "12D3KooWEach" + owner[-6:], 50_000, window_payload())
               for owner in owners[1:]]
    store.put_windows(inputs)
    fields = ("owner", "device_id", "window_start_ms")
    for since, until in ((0, 10**12), (40_000, 2_000_000), (50_000, 50_001), (60_000, 60_000)):
        own = store.tables.windows_of_owners(owners, since, until, fields)
        paged = Tables.windows_of_owners(store.tables, owners, since, until, fields)
        assert sorted(r["record_id"] for r in own) == sorted(r["record_id"] for r in paged)
        assert len(own) == len({r["record_id"] for r in own})
        assert all(since <= r["window_start_ms"] < until for r in own)
    assert len(store.tables.windows_of_owners(owners, 0, 10**12, fields)) == 620 + 502
    store.close()


def test_get_window__unknown__not_found(store):
    with pytest.raises(RecordNotFound):
        store.get_window("0x" + "00" * 32)


# ---------------------------------------------------------------------------------- batches
def _batch(store, n=5):
    refs = store.put_windows(
        [WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i)) for i in range(n)]
    )
    root, proofs = merkle.build([r.ciphertext_sha256 for r in refs])
    return refs, root, proofs


def test_batch__anchored_root_verifies_reads(store):
    refs, root, proofs = _batch(store)
    assert {r.record_id for r in store.pending_unbatched(100)} == {r.record_id for r in refs}
    store.record_batch(root, [r.record_id for r in refs], proofs, "0x" + "ab" * 32)
    assert store.pending_unbatched(100) == []
    for i, ref in enumerate(refs):
        assert store.get_window(ref.record_id, expected_root=root) == window_payload(i)
        assert store.get_window(ref.record_id, anchor_check=lambda r: r == root) == window_payload(
            i
        )
        assert store.proof_of(ref.record_id) == (root, proofs[i])
        assert store.window_meta(ref.record_id).batch_root == root
    batch = store.get_batch(root)
    assert batch.record_ids == tuple(r.record_id for r in refs) and batch.anchor_tx


def test_batch__unanchored_then_marked(store):
    refs, root, proofs = _batch(store, 3)
    store.record_batch(root, [r.record_id for r in refs], proofs, None)
    assert len(store.pending_unbatched(100)) == 3  # built, not anchored yet
    assert store.get_batch(root).anchor_tx is None
    store.mark_batch_anchored(root, "0x" + "cd" * 32)
    assert store.pending_unbatched(100) == []
    assert store.get_batch(root).anchor_tx == "0x" + "cd" * 32
    assert store.get_window(refs[0].record_id, expected_root=root) == window_payload(0)


def test_batch__wrong_proof__rejected_on_write(store):
    refs, root, proofs = _batch(store, 4)
    with pytest.raises(InvalidInput):
        store.record_batch(root, [r.record_id for r in refs], [proofs[1], *proofs[1:]], "0x1")
    with pytest.raises(InvalidInput):
        store.record_batch(root, ["0x" + "00" * 32], [proofs[0]], "0x1")
    assert len(store.pending_unbatched(100)) == 4


def test_batch__anchored_record_cannot_move(store):
    refs, root, proofs = _batch(store, 2)
    store.record_batch(root, [r.record_id for r in refs], proofs, "0x1")
    other_root, other_proofs = merkle.build([refs[0].ciphertext_sha256])
    with pytest.raises(Conflict):
        store.record_batch(other_root, [refs[0].record_id], other_proofs, "0x2")


def test_anchor_required_but_unbatched__not_anchored(store):
    ref = store.put_window(OWNER, DEVICE, 0, window_payload())
    with pytest.raises(NotAnchored):
        store.get_window(ref.record_id, expected_root=b"\x00" * 32)
    assert store.proof_of(ref.record_id) is None


# ---------------------------------------------------------------------------------- bundles
BUNDLE = "0x" + "be" * 32


def test_bundle__inline__round_trip_and_meta(store):
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export bytes", version=1)
    assert rec.pointer.startswith("records://") and len(rec.ciphertext_sha256) == 32
    assert store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256) == b"export bytes"
    assert store.bundle_meta(BUNDLE) == rec
    assert [c.kind for c in store.changes_since(OWNER, None)] == ["bundle_added"]


class Refused(Exception):
    pass


def test_bundle__vet_sees_the_row_read__a_refusal_reads_and_decrypts_nothing(store):
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export bytes", version=1)
    seen = []
    assert store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256,
                            vet=seen.append) == b"export bytes"
    assert seen == [rec]

    def refuse(meta):
        raise Refused(meta.owner)

    for read in (store.get_bundle, store.sealed_bundle):
        with pytest.raises(Refused):
            read(BUNDLE, expected_hash=b"\x00" * 32, vet=refuse)  # refused before the hash check
    store.erase(BUNDLE)
    seen.clear()
    with pytest.raises(Refused):  # an erased row is vetted too, before "erased" is answered
        store.get_bundle(BUNDLE, vet=refuse)
    with pytest.raises(RecordErased):
        store.get_bundle(BUNDLE, vet=seen.append)
    assert [meta.erased for meta in seen] == [True]


def test_bundle__in_blob_store(store, tmp_path):
    from services.blobs.local_dir import LocalDirBlobStore

    blobs = LocalDirBlobStore(tmp_path / "blobs")
    rec = store.put_bundle(OWNER, BUNDLE, 0, b"windows of a week", blobs=blobs)
    assert rec.pointer.startswith("ipfs://bafkrei")
    assert store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256, blobs=blobs) == (
        b"windows of a week"
    )


def test_bundle__new_version__new_key_old_version_refused(store):
    v1 = store.put_bundle(OWNER, BUNDLE, 2, b"v1")
    key1 = store.record_key(BUNDLE)
    v2 = store.put_bundle(OWNER, BUNDLE, 2, b"v2", version=2)
    assert v2.ciphertext_sha256 != v1.ciphertext_sha256 and store.record_key(BUNDLE) != key1
    assert store.get_bundle(BUNDLE, expected_hash=v2.ciphertext_sha256) == b"v2"
    with pytest.raises(Conflict):
        store.put_bundle(OWNER, BUNDLE, 2, b"again", version=2)


@pytest.mark.parametrize("bundle_id, data_class", [("0x12", 0), (BUNDLE, 9), (BUNDLE, -1)])
def test_bundle__bad_input__rejected(store, bundle_id, data_class):
    with pytest.raises(InvalidInput):
        store.put_bundle(OWNER, bundle_id, data_class, b"x")


# ----------------------------------------------------------------------------- dead letters
def test_dead_letters__kept_encrypted_listed_by_kind(store):
    first = store.dead_letter("reading", b'{"bpm": 300}', "bpm out of range")
    store.dead_letter("window", b"\x00\x01", "no device registered")
    letters = store.dead_letters("reading")
    assert [(d.id, d.payload, d.reason) for d in letters] == [
        (first, b'{"bpm": 300}', "bpm out of range")
    ]
    assert len(store.dead_letters()) == 2
    with pytest.raises(InvalidInput):
        store.dead_letter("reading", b"x", "")
    with pytest.raises(InvalidInput):
        store.dead_letter("Bad Kind!", b"x", "why")


def test_dead_letter__erased_payload_gone_digest_kept(store):
    import hashlib

    letter = store.dead_letter("reading", b"secret", "bad")
    store.erase(letter)
    [d] = store.dead_letters("reading")
    assert d.payload is None and len(d.payload_digest) == 32
    # a keyed digest: guessing the payload and hashing it does not confirm it
    assert d.payload_digest != hashlib.sha256(b"secret").digest()
    assert store.dead_letter("reading", b"secret", "bad") == letter  # still recognised


def test_sealed_bundle__what_an_ecies_buyer_decrypts(store):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from services.records import RecordErased, TamperDetected

    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export for a buyer")
    sealed, ad = store.sealed_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)
    key = store.record_key(BUNDLE)
    assert AESGCM(key).decrypt(sealed[:12], sealed[12:], ad) == b"export for a buyer"
    with pytest.raises(TamperDetected):
        store.sealed_bundle(BUNDLE, expected_hash=b"\x00" * 32)
    store.erase(BUNDLE)
    with pytest.raises(RecordErased):
        store.sealed_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)


def test_device__public_key_as_hex__accepted(store):
    store.register_device(DEVICE, OWNER, KEY.hex())
    assert store.get_device(DEVICE).public_key == KEY
    with pytest.raises(InvalidInput):
        store.register_device(DEVICE, OWNER, "zz" * 32)


def test_dead_letter__same_failure_redelivered__kept_once(store):
    first = store.dead_letter("reading", b"payload", "bad signature")
    assert store.dead_letter("reading", b"payload", "bad signature") == first
    other = store.dead_letter("reading", b"payload", "another reason")
    assert other != first
    assert [d.id for d in store.dead_letters("reading")].count(first) == 1
    assert len(store.dead_letters("reading")) == 2
    assert len(list(store.keys.scan())) == 2  # no orphan key for the repeat


def test_keyed_digest__stable_per_master_key_and_label(make_store):
    """What per-purchase subject pseudonyms rest on: every store opened with the master key
    answers the same digest; another label or another master key answers another."""
    store, again = make_store(), make_store()
    digest = store.keyed_digest(b"purchase-subject", b"\x01")
    assert again.keyed_digest(b"purchase-subject", b"\x01") == digest and len(digest) == 32
    assert store.keyed_digest(b"other-label", b"\x01") != digest
    assert store.keyed_digest(b"purchase-subject", b"\x02") != digest
    other = make_store(keyring=Keyring(os.urandom(32)))
    assert other.keyed_digest(b"purchase-subject", b"\x01") != digest


def test_dead_letter__retired_once_processed__that_letter_and_its_key_only(store):
    """A late reading stored as its window's part after all: its letter goes, with its key;
    a letter with the same payload and another reason, or another payload, stays."""
    store.dead_letter("reading", b"late one", "late")
    kept = store.dead_letter("reading", b"late one", "replay: seq seen with other content")
    other = store.dead_letter("reading", b"another", "late")
    assert store.retire_dead_letter("reading", b"late one", "late") is True
    assert sorted(d.id for d in store.dead_letters("reading")) == sorted([kept, other])
    assert len(list(store.keys.scan())) == 2
    assert store.retire_dead_letter("reading", b"late one", "late") is False
    with pytest.raises(InvalidInput):
        store.retire_dead_letter("reading", "not bytes", "late")


def test_dead_letter__written_after_its_retirement__makes_no_letter_until_purged(store):
    """A master whose letter comes after the aggregator stored the reading and retired it (a
    redelivery late by more than the hold) leaves no letter for a stored reading: the
    retirement stays in the letter's place, with no key and no payload, until it is purged."""
    letter = store.dead_letter("reading", b"late one", "late")
    assert store.retire_dead_letter("reading", b"late one", "late") is True
    assert store.dead_letter("reading", b"late one", "late") == letter  # same id, no letter
    assert store.dead_letters() == [] and list(store.keys.scan()) == []
    store.erase(letter)  # a retired letter, erased by its id: nothing left to shred, no error
    # retired before its letter was ever written (the master slower than the aggregator)
    assert store.retire_dead_letter("reading", b"early", "late") is False
    store.dead_letter("reading", b"early", "late")
    assert store.dead_letters("reading") == [] and list(store.keys.scan()) == []
    kept = store.dead_letter("reading", b"another", "late")
    assert [d.id for d in store.dead_letters()] == [kept]
    # the purge forgets retirements made before its horizon, and only those
    assert store.purge_retired_letters(v.now_ms() - 60_000) == 0
    assert store.purge_retired_letters(v.now_ms() + 1) == 2
    assert store.dead_letter("reading", b"late one", "late") == letter
    assert sorted(d.id for d in store.dead_letters()) == sorted([kept, letter])
    assert len(list(store.keys.scan())) == 2
