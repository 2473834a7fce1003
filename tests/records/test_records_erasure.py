"""Erasure destroys the record key (crypto-shredding): afterwards nobody can decrypt."""

import os
from pathlib import Path

import pytest
from records_support import DEVICE, OWNER, fresh_chain, raw_window, window_payload

from services.records import RecordErased, RecordNotFound, WindowInput, merkle
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore


def test_erase__window_then_read__record_erased(store):
    ref = store.put_window(OWNER, DEVICE, 0, window_payload())
    key_ref = raw_window(store, ref.record_id)["key_ref"]
    store.erase(ref.record_id)
    with pytest.raises(RecordErased):
        store.get_window(ref.record_id)
    with pytest.raises(RecordErased):
        store.record_key(ref.record_id)
    assert store.keys.get(key_ref) is None
    assert store.window_meta(ref.record_id).erased
    assert store.changes_since(OWNER, None)[-1].kind == "window_erased"
    store.erase(ref.record_id)  # idempotent


def test_erase__batch_siblings_still_verify(store):
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(4)])
    root, proofs = merkle.build([r.ciphertext_sha256 for r in refs])
    store.record_batch(root, [r.record_id for r in refs], proofs, "0x1")
    store.erase(refs[1].record_id)
    assert store.get_window(refs[2].record_id, expected_root=root) == window_payload(2)
    with pytest.raises(RecordErased):
        store.get_window(refs[1].record_id, expected_root=root)


def test_erase__bundle(store):
    bundle = "0x" + "be" * 32
    store.put_bundle(OWNER, bundle, 2, b"export")
    store.erase(bundle)
    with pytest.raises(RecordErased):
        store.get_bundle(bundle)
    assert store.bundle_meta(bundle).erased


def test_erase__unknown__not_found(store):
    with pytest.raises(RecordNotFound):
        store.erase("0x" + "00" * 32)


def _all_bytes(*directories: Path) -> bytes:
    return b"".join(
        p.read_bytes() for d in directories for p in sorted(d.rglob("*")) if p.is_file()
    )


def test_erase__sqlite_files_hold_no_copy_of_the_key(tmp_path):
    """Scan every file of the store (records db, key db, their -wal and -shm) for the raw key
    and the wrapped key, before (must be found: the scan works) and after erasure (none).
    SQLite only: Firestore's storage is not ours to scan (its key document is gone, see above)."""
    store = SqliteRecordStore(tmp_path / "records", fresh_chain(), Keyring(os.urandom(32)))
    # many records so the erased key sits among live ones on shared pages
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(50)])
    victim = refs[25].record_id
    raw_key = store.record_key(victim)
    wrapped = store.keys.get(raw_window(store, victim)["key_ref"]).wrapped
    sealed = bytes(raw_window(store, victim)["ciphertext"])
    dirs = (store.directory, store.key_directory)
    before = _all_bytes(*dirs)
    assert wrapped in before and sealed in before  # the scan can see what it looks for
    store.erase(victim)
    after = _all_bytes(*dirs)
    assert raw_key not in after
    assert wrapped not in after
    assert sealed not in after
    assert store.get_window(refs[24].record_id) == window_payload(24)  # neighbours intact
    store.close()
