"""Tampering with any stored part of a record is detected and nothing is served.

The attacker here can write the database (SQLite file or Firestore document) but not the chain:
the anchor (batch root, registry ciphertextHash) comes from the caller.
"""

import pytest
from records_support import (
    DEVICE,
    OTHER,
    OWNER,
    flip,
    raw_window,
    window_payload,
    write_raw_window,
)

from services.records import TamperDetected, crypto, merkle
from services.records.keystore import WrappedKey


@pytest.fixture
def anchored(store):
    """Four windows in an anchored batch (proofs of two hashes); returns (store, refs, root)."""
    from services.records import WindowInput

    refs = store.put_windows(
        [WindowInput(OWNER, DEVICE, 10_000 * i, window_payload(i)) for i in range(4)]
    )
    root, proofs = merkle.build([r.ciphertext_sha256 for r in refs])
    store.record_batch(root, [r.record_id for r in refs], proofs, "0x" + "aa" * 32)
    return store, refs, root


NONCE, TAG = 0, -1  # sealed layout: nonce (12) || ciphertext || tag (16)


@pytest.mark.parametrize("where", [NONCE, 11, 12, 40, TAG, -16])
def test_flipped_sealed_byte__detected_against_anchor(anchored, where):
    store, refs, root = anchored
    rid = refs[1].record_id
    sealed = bytes(raw_window(store, rid)["ciphertext"])
    write_raw_window(store, rid, ciphertext=flip(sealed, where))
    with pytest.raises(TamperDetected):
        store.get_window(rid, expected_root=root)


@pytest.mark.parametrize("where", [NONCE, 20, TAG])
def test_flipped_sealed_byte_and_hash_rewritten__gcm_still_detects(store, where):
    """An attacker who also rewrites the stored sha256 (no anchor asked): the tag catches it."""
    ref = store.put_window(OWNER, DEVICE, 0, window_payload())
    bad = flip(bytes(raw_window(store, ref.record_id)["ciphertext"]), where)
    write_raw_window(store, ref.record_id, ciphertext=bad, ciphertext_sha256=crypto.sha256(bad))
    with pytest.raises(TamperDetected):
        store.get_window(ref.record_id)


@pytest.mark.parametrize("field, value", [("owner", OTHER), ("version", 2)])
def test_associated_data_changed__detected(anchored, field, value):
    """Owner or version rewritten (e.g. to hand the record to someone else): AD no longer binds."""
    store, refs, root = anchored
    write_raw_window(store, refs[0].record_id, **{field: value})
    with pytest.raises(TamperDetected):
        store.get_window(refs[0].record_id, expected_root=root)


def test_ciphertext_swapped_between_records__detected(anchored):
    """A valid ciphertext of another record (its own hash too) is bound to the other record id."""
    store, refs, _ = anchored
    a, b = raw_window(store, refs[0].record_id), raw_window(store, refs[1].record_id)
    write_raw_window(
        store,
        refs[0].record_id,
        ciphertext=bytes(b["ciphertext"]),
        ciphertext_sha256=crypto.sha256(bytes(b["ciphertext"])),
        key_ref=b["key_ref"],
    )
    assert a["key_ref"] != b["key_ref"]
    with pytest.raises(TamperDetected):
        store.get_window(refs[0].record_id)


@pytest.mark.parametrize("byte", [0, 31, 32, 63])
def test_flipped_proof_byte__detected(anchored, byte):
    store, refs, root = anchored
    rid = refs[2].record_id
    proof = bytes(raw_window(store, rid)["proof"])
    write_raw_window(store, rid, proof=flip(proof, byte))
    with pytest.raises(TamperDetected):
        store.get_window(rid, expected_root=root)


def test_wrong_expected_root__detected(anchored):
    store, refs, root = anchored
    with pytest.raises(TamperDetected):
        store.get_window(refs[0].record_id, expected_root=flip(root, 5))


def test_anchor_check_says_not_on_chain__detected(anchored):
    store, refs, root = anchored
    seen = []
    with pytest.raises(TamperDetected):
        store.get_window(refs[0].record_id, anchor_check=lambda r: seen.append(r) or False)
    assert seen == [root]


def test_wrapped_key_tampered__detected(store):
    ref = store.put_window(OWNER, DEVICE, 0, window_payload())
    key_ref = raw_window(store, ref.record_id)["key_ref"]
    wk = store.keys.get(key_ref)
    store.keys.replace_many([WrappedKey(key_ref, wk.kek_id, flip(wk.wrapped, 20))])
    with pytest.raises(TamperDetected):
        store.get_window(ref.record_id)


BUNDLE = "0x" + "be" * 32


def test_bundle__registry_hash_mismatch__detected(store):
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export")
    with pytest.raises(TamperDetected):
        store.get_bundle(BUNDLE, expected_hash=flip(rec.ciphertext_sha256, 0))


def test_bundle__blob_bytes_swapped__detected(store, tmp_path):
    from services.blobs.local_dir import LocalDirBlobStore

    blobs = LocalDirBlobStore(tmp_path / "blobs")
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export", blobs=blobs)
    cid = rec.pointer.removeprefix("ipfs://")
    path = blobs._path(cid)
    path.write_bytes(flip(path.read_bytes(), 3))
    with pytest.raises(TamperDetected):
        store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256, blobs=blobs)


def _tamper_bundle(store, **fields) -> None:
    from services.records.tables import Write

    store.tables.commit([Write("update", "bundles", BUNDLE, fields)])


@pytest.mark.parametrize("repeats", [100, 40_000])  # 40,000: read apart from its row in SQLite
@pytest.mark.parametrize("where", [NONCE, 12, 40, TAG])
def test_bundle__ciphertext_flipped_after_verified_reads__detected(store, where, repeats):
    """A verified digest is remembered (no sha256 on later reads), and still a changed byte is
    refused: AES-GCM under the bundle's own key covers every byte."""
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export " * repeats)
    for _ in range(2):
        assert store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256) == b"export " * repeats
    assert store.verified_digests.get(BUNDLE) is not None
    sealed = store.tables.get("bundles", BUNDLE)["ciphertext"]
    _tamper_bundle(store, ciphertext=flip(bytes(sealed), where))
    with pytest.raises(TamperDetected):
        store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)
    with pytest.raises(TamperDetected):
        store.sealed_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)
    assert store.integrity.counts["tampered"] == 2


def test_bundle__ciphertext_and_digest_swapped_after_verified_reads__detected(store):
    """Another bundle's sealed bytes with their own true digest: neither the remembered digest
    nor the registry's hash matches."""
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export")
    other = store.put_bundle(OWNER, "0x" + "cd" * 32, 2, b"other")
    store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)
    _tamper_bundle(store, ciphertext=store.tables.get("bundles", other.bundle_id)["ciphertext"],
                   ciphertext_sha256=other.ciphertext_sha256)
    with pytest.raises(TamperDetected):
        store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)


def test_bundle__registry_hash_differs_after_verified_reads__detected(store):
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"export")
    store.get_bundle(BUNDLE, expected_hash=rec.ciphertext_sha256)
    with pytest.raises(TamperDetected):
        store.get_bundle(BUNDLE, expected_hash=flip(rec.ciphertext_sha256, 0))


def _fields_asked(store, call):
    """(call's result, the field lists it asked the backend's tables for)."""
    asked = []
    get = store.tables.get
    store.tables.get = lambda table, key, fields=None: asked.append(fields) or get(table, key,
                                                                                  fields)
    try:
        return call(), asked
    finally:
        del store.tables.get


def test_bundle_meta__reads_no_ciphertext(store):
    """Metadata of a bundle (owner, location, digest) without its megabytes: both backends are
    asked for the named fields only."""
    rec = store.put_bundle(OWNER, BUNDLE, 2, b"x" * 100_000)
    meta, asked = _fields_asked(store, lambda: store.bundle_meta(BUNDLE))
    assert meta == rec
    assert asked and all(fields is not None and "ciphertext" not in fields for fields in asked)


def test_check_bundle_row__reads_no_ciphertext_and_refuses_as_a_read_would(store):
    """The row checks a warm reader relies on (gateway label_parts.py): no megabytes fetched; a
    registry hash other than the recorded one, a lost or tampered key and an erasure each
    refuse as `get_bundle` would."""
    from services.records import KeyMissing, RecordErased

    rec = store.put_bundle(OWNER, BUNDLE, 2, b"x" * 100_000)
    _, asked = _fields_asked(
        store, lambda: store.check_bundle_row(BUNDLE, expected_hash=rec.ciphertext_sha256))
    assert asked and all(fields is not None and "ciphertext" not in fields for fields in asked)
    vetted = []
    store.check_bundle_row(BUNDLE, expected_hash=rec.ciphertext_sha256, vet=vetted.append)
    assert [meta.owner for meta in vetted] == [rec.owner]

    with pytest.raises(TamperDetected):
        store.check_bundle_row(BUNDLE, expected_hash=flip(rec.ciphertext_sha256, 0))
    key_ref = store.tables.get("bundles", BUNDLE)["key_ref"]
    wk = store.keys.get(key_ref)
    store.keys.replace_many([WrappedKey(key_ref, wk.kek_id, flip(wk.wrapped, 20))])
    with pytest.raises(TamperDetected):
        store.check_bundle_row(BUNDLE, expected_hash=rec.ciphertext_sha256)
    store.keys.destroy([key_ref])
    with pytest.raises(KeyMissing):
        store.check_bundle_row(BUNDLE, expected_hash=rec.ciphertext_sha256)

    other = "0x" + "cd" * 32
    kept = store.put_bundle(OWNER, other, 2, b"y")
    store.erase(other)
    with pytest.raises(RecordErased):
        store.check_bundle_row(other, expected_hash=kept.ciphertext_sha256)
