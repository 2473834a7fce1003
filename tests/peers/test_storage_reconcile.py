"""Split brain at the storage step: two aggregators that each closed the same window (each
believed the other dead) send it with different readings. The record store keeps the first
write; the readings the second had that the record lacks are stored as the window's next part,
each reading in exactly one part — never dropped, never stored twice. Real record store
(SQLite), the role driven directly."""

import json
from types import SimpleNamespace

import trio
from pulseledger_testkit.admission import attestation_check, master_attestations

from services.peers.messages.windows import StoreRequest
from services.peers.roles.storage import StorageRole
from services.records import WindowInput
from services.records.validation import window_part_id, window_record_id
from services.records.window_payload import build_window_payload

from .helpers import attested_window, open_test_store

DEVICE = "12D3KooWGBZEYDcyEeAytmwvStxhcTVqnjKjdsPCTpqCNeqYk7gv"
OWNER = "0x" + "ab" * 20
START = 1_700_000_000_000


def item(seqs) -> dict:
    return attested_window(DEVICE, seqs)


def role_on(store, tmp_path) -> StorageRole:
    return StorageRole(settings=None, rpc=SimpleNamespace(register=lambda op, handler: None),
                       membership=None, store=store, attestations=attestation_check(tmp_path))


def parts_of(store) -> list[list[int]]:
    """The window's stored parts, in part order: each one's readings' seqs. Every record of
    the owner is one of them."""
    ids = [window_part_id(store.namespace, DEVICE, START, part) for part in range(16)]
    listed = {m.record_id for m in store.list_windows(OWNER)}
    assert listed <= set(ids)
    return [[r["seq"] for r in store.get_window(rid)["readings"]] for rid in ids if rid in listed]


def item_id(store) -> str:
    return window_record_id(store.namespace, DEVICE, START)


def test_second_write_with_more_readings__extra_ones_stored_as_a_part(tmp_path):
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)

    async def both_sides():
        first = await role.handle(StoreRequest([item([1, 2, 3])], 10_000), "a1")
        again = await role.handle(StoreRequest([item([1, 2, 3])], 10_000), "a1")
        other = await role.handle(StoreRequest([item([1, 2, 3, 4, 5])], 10_000), "a2")
        return first, again, other

    first, again, other = trio.run(both_sides)
    assert first.record_ids == again.record_ids == other.record_ids == [item_id(store)]
    assert parts_of(store) == [[1, 2, 3], [4, 5]]  # first write wins; the rest in part 1
    part = store.list_windows(OWNER)
    assert {m.window_start_ms for m in part} == {START} and len(part) == 2
    assert store.get_window(window_part_id(store.namespace, DEVICE, START, 1))["readings"][0][
        "heartrate"] == 74.0
    assert store.dead_letters("reading") == []
    assert role.reconciled == 2 and role.parts_stored == 1  # the plain retry added nothing


def test_three_closers__each_reading_in_exactly_one_part(tmp_path):
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)

    async def closers():
        await role.handle(StoreRequest([item([1, 2])], 10_000), "a1")
        await role.handle(StoreRequest([item([2, 3, 4])], 10_000), "a2")
        await role.handle(StoreRequest([item([1, 4, 5])], 10_000), "a3")
        await role.handle(StoreRequest([item([1, 2, 3, 4, 5])], 10_000), "a2")

    trio.run(closers)
    assert parts_of(store) == [[1, 2], [3, 4], [5]]
    assert store.dead_letters("reading") == []


def test_two_writers_of_the_same_part__the_loser_takes_the_next(tmp_path):
    """Two storage peers read the window's parts at the same moment and both try part 1: the
    record store creates it for one; the other reads again and stores only what is still
    missing, as part 2."""
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)
    trio.run(role.handle, StoreRequest([item([1])], 10_000), "a1")
    real = store._readings_held
    raced = []

    def held_then_raced(device, start):
        held = real(device, start)
        if not raced:  # after our read, another writer creates part 1 with seq 2
            raced.append(True)
            store.add_to_window(WindowInput(OWNER, DEVICE, START, window_payload([2])))
        return held

    store._readings_held = held_then_raced
    added = store.add_to_window(WindowInput(OWNER, DEVICE, START, window_payload([2, 3])))
    store._readings_held = real
    assert added is not None and added[1] == 1
    assert parts_of(store) == [[1], [2], [3]]


def test_readings_of_an_erased_window__not_written_back(tmp_path):
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)
    trio.run(role.handle, StoreRequest([item([1])], 10_000), "a1")
    store.erase(item_id(store))
    trio.run(role.handle, StoreRequest([item([1, 2])], 10_000), "a2")
    assert [m.erased for m in store.list_windows(OWNER)] == [True]
    assert role.parts_stored == 0


def window_payload(seqs) -> dict:
    window = item(seqs)
    return build_window_payload(DEVICE, START, 10_000, window["readings"], window["prediction"])


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


def test_a_window_out_of_parts__its_new_readings_parked_with_why(tmp_path, monkeypatch):
    """A window closed apart more often than the store allows parts for (16; 2 here) is a fault
    to look into: the readings that found no part are dead-lettered with the reason, the
    storage call still answers (a failing call would be retried for ever)."""
    monkeypatch.setattr("services.records.store_windows.MAX_WINDOW_PARTS", 2)
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)
    for seqs in ([1], [1, 2], [1, 2, 3]):
        trio.run(role.handle, StoreRequest([item(seqs)], 10_000), "a1")
    assert parts_of(store) == [[1], [2]]
    [letter] = store.dead_letters("reading")
    assert json.loads(letter.payload)["seq"] == 3
    assert letter.reason == "its window could not take a part: window already has 2 parts"


def test_a_second_closer_with_other_content_for_a_seq__that_reading_parked_as_a_replay(tmp_path):
    """Each side of a split brain can take a different reading for the same (device, seq) (a
    replay that reached both): one content per key is stored; the other is dead-lettered as
    a replay, not dropped, while the second closer's new readings still form a part."""
    store = open_test_store(tmp_path)
    store.register_device(DEVICE, OWNER, b"\x01" * 32)
    role = role_on(store, tmp_path)
    trio.run(role.handle, StoreRequest([item([1, 2])], 10_000), "a1")
    other = item([1, 2, 3])
    other["readings"][1] = dict(other["readings"][1], heartrate=99.0)
    other["attestations"] = master_attestations([{**r, "userId": DEVICE}
                                                 for r in other["readings"]])
    trio.run(role.handle, StoreRequest([other], 10_000), "a2")
    assert parts_of(store) == [[1, 2], [3]]
    [letter] = store.dead_letters("reading")
    assert (json.loads(letter.payload)["seq"], json.loads(letter.payload)["heartrate"]) == (2, 99.0)
    assert letter.reason == "replay: its window holds another reading with this seq"
