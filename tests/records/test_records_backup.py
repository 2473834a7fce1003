"""Backup and restore keep data readable and erased records erased."""

import base64
import os

import pytest
from records_support import DEVICE, OWNER, fresh_chain, raw_window, window_payload

from services.records import RecordErased, RecordsSettings, WindowInput, open_store
from services.records.sqlite_store import restore_sqlite


def test_reapply_erasures__old_key_restored__erased_again(store):
    """What a restore of a key backup taken before an erasure does, on either backend."""
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(3)])
    key_ref = raw_window(store, refs[0].record_id)["key_ref"]
    old_key = store.keys.get(key_ref)
    store.erase(refs[0].record_id)
    store.keys.put_many([old_key])  # the restored backup brings the key back
    assert store.reapply_erasures() == 1
    assert store.keys.get(key_ref) is None
    with pytest.raises(RecordErased):
        store.get_window(refs[0].record_id)
    assert store.get_window(refs[1].record_id) == window_payload(1)
    assert store.reapply_erasures() == 0


def test_sqlite_backup_then_restore__data_back__later_erasure_kept(tmp_path):
    chain = fresh_chain()
    settings = RecordsSettings(
        sqlite_dir=tmp_path / "live",
        sqlite_key_dir=tmp_path / "live-keys",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )
    store = open_store(settings, chain)
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(5)])
    store.backup(tmp_path / "backup-records", tmp_path / "backup-keys")
    store.erase(refs[2].record_id)  # after the backup
    store.put_window(OWNER, DEVICE, 99, window_payload(99))  # lost by the restore, as expected
    store.close()

    destroyed = restore_sqlite(
        settings, chain, tmp_path / "backup-records", tmp_path / "backup-keys"
    )
    assert destroyed == 1
    restored = open_store(settings, chain)
    assert len(restored.list_windows(OWNER)) == 5
    assert restored.get_window(refs[4].record_id) == window_payload(4)
    with pytest.raises(RecordErased):
        restored.get_window(refs[2].record_id)
    restored.close()
