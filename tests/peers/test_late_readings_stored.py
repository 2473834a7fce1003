"""A reading that arrives after its window closed (a device that dropped out mid-window sends
the rest later) is stored after all, as a part of its window: the aggregator dead-letters it as
late (as its master does: the reading stays safe whatever happens to the aggregator), keeps it,
and once `late_hold_s` passed screens and stores it with its master's attestation, then retires
the letter. A redelivery changes nothing. Real window store and record store (SQLite), a real
StorageRole with the operator's attestation check, the master's call through its wire form."""

import json

import pytest
import trio
from pulseledger_testkit.admission import master_attestations

from services.peers.messages.agg_ingest import IngestRequest
from services.peers.rejected import dead_letter_rejected
from tests.peers.closing_harness import close_until, lone_aggregator
from tests.peers.storage_downstream import (
    DEVICE,
    OWNER,
    Downstream,
    parts,
    readings,
    run_loop_until,
)

HOLD_S = 0.3


def master_call(seqs) -> IngestRequest:
    """A master's agg.ingest for these readings (window 0 of DEVICE), as the wire brings it."""
    batch = readings(seqs)
    for reading in batch:
        reading["signal"] = "rr"
    [document] = master_attestations(batch)
    return IngestRequest.from_wire(json.loads(json.dumps(
        IngestRequest(batch, {DEVICE: document}).to_wire())))


@pytest.fixture
def closed(tmp_path):
    """Window 0 of DEVICE closed and stored with readings 1-3 by this aggregator: (the
    aggregator, what is behind its calls)."""
    downstream = Downstream(tmp_path, None)
    role = lone_aggregator(tmp_path, downstream)
    role.settings.late_hold_s = HOLD_S
    downstream.storage.store = role.store
    role.store.register_device(DEVICE, OWNER, b"\x01" * 32)
    reply = trio.run(role.handle_ingest, master_call([1, 2, 3]), "master")
    assert reply.rejected == []
    close_until(role, 1)
    assert parts(role.store) == [[1, 2, 3]] and len(downstream.notified) == 1
    return role, downstream


def ingest_late(role, seqs):
    reply = trio.run(role.handle_ingest, master_call(seqs), "master")
    assert [outcome for _, outcome in reply.rejected] == ["late"] * len(seqs)
    return reply


def wait_until_stored(role, count: int) -> None:
    async def done():
        while role.late_stored < count:
            await trio.sleep(0.01)

    run_loop_until(role, done)


def test_a_reading_after_its_window_closed__stored_as_a_part__its_letter_retired(closed):
    role, downstream = closed
    ingest_late(role, [4, 5])
    letters = role.store.dead_letters("reading")
    assert sorted(json.loads(d.payload)["seq"] for d in letters) == [4, 5]
    assert {d.reason for d in letters} == {"late"}
    assert role.windows.unsent() == [], "held back until its master's letter surely exists"
    assert [len(rs) for _, _, rs, _ in role.windows.unsent(now=role.windows.next_late_at())] == [2]

    wait_until_stored(role, 2)
    assert parts(role.store) == [[1, 2, 3], [4, 5]]
    assert role.store.dead_letters() == [], "stored after all: no letter says it was not"
    assert len(downstream.notified) == 1, "a part alerts nobody on its own"
    assert role.metrics()["aggregation_late_readings_kept"] == 2
    assert role.metrics()["aggregation_late_readings_stored"] == 2
    assert role.metrics()["aggregation_orphans_stored"] == 0, "late, not orphans of a merge"


def test_the_masters_letter_is_the_same_letter__retired_with_it(closed):
    """A master in another process writes its own letter from the reading it routed
    (services/peers/rejected.py): the one letter the store keeps for it goes."""
    role, _ = closed
    request = master_call([4])
    dead_letter_rejected(role.store, dict(request.readings[0]), "late")  # the master's
    trio.run(role.handle_ingest, request, "master")
    assert len(role.store.dead_letters("reading")) == 1
    wait_until_stored(role, 1)
    assert role.store.dead_letters() == []


def test_the_masters_letter_written_after_it_was_stored__makes_none(closed):
    """A master whose letter comes after the reading was stored and its letter retired (a
    redelivery late by more than late_hold_s): the retirement stands in the letter's place,
    so no letter says a stored reading was not stored."""
    role, _ = closed
    request = master_call([4])
    trio.run(role.handle_ingest, request, "master")
    wait_until_stored(role, 1)
    assert role.store.dead_letters() == []
    dead_letter_rejected(role.store, dict(request.readings[0]), "late")  # the master's, late
    assert role.store.dead_letters() == []
    assert parts(role.store) == [[1, 2, 3], [4]]


def test_redelivered_after_it_was_stored__no_second_part_no_letter_left(closed):
    role, _ = closed
    ingest_late(role, [4])
    wait_until_stored(role, 1)
    ingest_late(role, [4])  # the queue delivered it again
    assert role.store.dead_letters("reading") == [], "its letter was retired: none again"
    wait_until_stored(role, 2)
    assert parts(role.store) == [[1, 2, 3], [4]]
    assert role.store.dead_letters() == []


def test_past_unsent_limit__late_readings_stay_dead_lettered(closed):
    """`unsent` is bounded: past `unsent_limit`, a late reading is not kept, and its letter
    (as before late readings were kept) is what remains of it."""
    role, _ = closed
    role.windows.unsent_limit = 1
    ingest_late(role, [4, 5])
    wait_until_stored(role, 1)
    assert parts(role.store) == [[1, 2, 3], [4]]
    assert [json.loads(d.payload)["seq"] for d in role.store.dead_letters("reading")] == [5]
    assert role.metrics()["aggregation_late_readings_kept"] == 1
