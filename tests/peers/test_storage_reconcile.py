"""Split brain at the storage step: two aggregators that each closed the same window (each
believed the other dead) send it with different readings. The record store keeps the first
write; the storage role must dead-letter the readings the second had that the record lacks —
never drop them silently. Real record store (SQLite), the role driven directly."""

import json
from types import SimpleNamespace

import trio
from pulseledger_testkit.admission import attestation_check

from services.peers.messages.windows import StoreRequest
from services.peers.roles.storage import StorageRole

from .helpers import attested_window, open_test_store

DEVICE = "12D3KooWGBZEYDcyEeAytmwvStxhcTVqnjKjdsPCTpqCNeqYk7gv"
OWNER = "0x" + "ab" * 20


def item(seqs) -> dict:
    return attested_window(DEVICE, seqs)


def test_second_write_with_more_readings__extra_ones_dead_lettered(tmp_path):
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = StorageRole(settings=None, rpc=SimpleNamespace(register=lambda op, handler: None),
                       membership=None, store=store, attestations=attestation_check(tmp_path))

    async def both_sides():
        first = await role.handle(StoreRequest([item([1, 2, 3])], 10_000), "a1")
        again = await role.handle(StoreRequest([item([1, 2, 3])], 10_000), "a1")
        other = await role.handle(StoreRequest([item([1, 2, 3, 4, 5])], 10_000), "a2")
        return first, again, other

    first, again, other = trio.run(both_sides)
    assert first.record_ids == again.record_ids == other.record_ids
    stored = store.get_window(first.record_ids[0])
    assert [r["seq"] for r in stored["readings"]] == [1, 2, 3]  # first write wins
    letters = store.dead_letters("reading")
    assert sorted(json.loads(d.payload)["seq"] for d in letters) == [4, 5]
    assert {d.reason for d in letters} == {
        "late: its window was stored by another aggregator without it"}
    assert role.reconciled == 2  # the plain retry (same readings) reconciled nothing


def test_repeat_of_a_window_whose_stored_record_is_unreadable__every_reading_kept(tmp_path):
    """The stored record fails its checks (its key deleted behind the store's back): the repeat
    cannot be compared with it, so all its readings are dead-lettered, none dropped."""
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = StorageRole(settings=None, rpc=SimpleNamespace(register=lambda op, handler: None),
                       membership=None, store=store, attestations=attestation_check(tmp_path))
    first = trio.run(role.handle, StoreRequest([item([1, 2])], 10_000), "a1")
    record_id = first.record_ids[0]
    store.keys.destroy([store.tables.get("windows", record_id)["key_ref"]])
    trio.run(role.handle, StoreRequest([item([1, 2, 3])], 10_000), "a2")
    letters = store.dead_letters("reading")
    assert sorted(json.loads(d.payload)["seq"] for d in letters) == [1, 2, 3]
    assert {d.reason for d in letters} == {"its window's stored record failed its integrity checks"}
