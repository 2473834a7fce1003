"""Master-key rotation re-wraps every record key and leaves every ciphertext as it was."""

import os

import pytest
from records_support import DEVICE, OWNER, raw_window, window_payload

from services.records import RecordsError, WindowInput, crypto
from services.records.keystore import Keyring


def test_rotate__rewraps_all_keys_ciphertexts_untouched(make_store):
    store = make_store()
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(30)])
    store.put_bundle(OWNER, "0x" + "be" * 32, 2, b"export")
    letter = store.dead_letter("reading", b"raw", "bad")
    sealed_before = {r.record_id: bytes(raw_window(store, r.record_id)["ciphertext"]) for r in refs}
    old_id = crypto.master_key_id(make_store.master)
    assert {wk.kek_id for wk in store.keys.scan()} == {old_id}

    new_master = os.urandom(32)
    assert store.rotate_master_key(new_master) == 32  # 30 windows + 1 bundle + 1 dead letter
    assert {wk.kek_id for wk in store.keys.scan()} == {crypto.master_key_id(new_master)}
    for r in refs:
        assert bytes(raw_window(store, r.record_id)["ciphertext"]) == sealed_before[r.record_id]
    assert store.rotate_master_key(new_master) == 0  # nothing left to re-wrap

    # a store opened with only the new master key reads everything
    fresh = make_store(keyring=Keyring(new_master))
    assert fresh.get_window(refs[7].record_id) == window_payload(7)
    assert fresh.get_bundle("0x" + "be" * 32) == b"export"
    assert fresh.dead_letters()[0].id == letter and fresh.dead_letters()[0].payload == b"raw"

    # and one with only the old key cannot unwrap: a clear error naming the missing key id
    stale = make_store(keyring=Keyring(make_store.master))
    with pytest.raises(RecordsError, match="unknown master key id"):
        stale.get_window(refs[0].record_id)


def test_rotate__half_done__old_and_new_keys_both_read(make_store):
    """A rotation interrupted midway leaves keys of both ids; a keyring holding both reads all."""
    store = make_store()
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i, window_payload(i)) for i in range(4)])
    new_master = os.urandom(32)
    keyring = Keyring(new_master, previous=[make_store.master])
    first = next(iter(store.keys.scan()))
    store.keys.replace_many([keyring.wrap(first.key_ref, store.envelope.keyring.unwrap(first))])
    both = make_store(keyring=keyring)
    assert len({wk.kek_id for wk in both.keys.scan()}) == 2
    assert [both.get_window(r.record_id) for r in refs] == [window_payload(i) for i in range(4)]
