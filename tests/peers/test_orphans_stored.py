"""Readings found outside every stored window reach storage as a part of their window: an
aggregator whose merge reveals orphans (another aggregator closed the window without them: a
split brain) keeps them, screens and sends them with the master's attestation documents, and
storage keeps what the window's record lacks as its next part — each reading stored exactly
once, no dead letter. A storage that cannot be reached costs nothing: they stay kept and go on
the next try. Real window store and record store (SQLite), a real StorageRole with the
operator's attestation check; the aggregator's calls to it go through the wire form."""

import json

import pytest
import trio
from pulseledger_testkit.admission import master_attestations

from services.peers.attestation import attestation_id
from services.peers.messages.windows import StoreRequest
from services.peers.roles.aggregation_unsent import UNKEPT_REASON
from services.peers.window_store import CLOSED
from tests.peers.closing_harness import lone_aggregator
from tests.peers.storage_downstream import (
    DEVICE,
    OWNER,
    START,
    Downstream,
    parts,
    readings,
    run_loop_until,
)


@pytest.fixture
def scene(tmp_path):
    """Window 0 of DEVICE stored by another aggregator with reading 1 only; this aggregator
    held 1, 2 and 3, all attested by one master call."""
    downstream = Downstream(tmp_path, None)
    role = lone_aggregator(tmp_path, downstream)
    downstream.storage.store = role.store
    role.store.register_device(DEVICE, OWNER, b"\x01" * 32)
    [document] = master_attestations(readings([1, 2, 3]))
    name = attestation_id(document)
    held = [dict(r, att=name) for r in readings([1, 2, 3])]
    role.windows.ingest(held, attestations={name: (DEVICE, json.dumps(document))})
    first = {"device_id": DEVICE, "window_start_ms": START, "readings": readings([1]),
             "prediction": {"status": "regular"}, "attestations": [document]}
    trio.run(downstream.storage.handle, StoreRequest([first], 10_000), "aggregator-b")
    # the other aggregator's closing marks: the window closed, reading 1 sent on
    other = lone_aggregator(tmp_path / "b", downstream)
    other.windows.ingest(readings([1]))
    other.windows.mark_closed(other.windows.readings_of([(DEVICE, START)]))
    marks = {"windows": [[DEVICE, START, CLOSED]], "devices": [],
             "readings": other.windows.closed_keys([(DEVICE, START)])}
    return role, downstream, marks


def test_orphans_of_a_merge__stored_as_the_windows_next_part(scene):
    role, downstream, marks = scene

    async def merge_then_wait():
        await role._merge(marks, "merge from …b")
        while role.windows.unsent():
            await trio.sleep(0.01)

    run_loop_until(role, merge_then_wait)
    assert parts(role.store) == [[1], [2, 3]]
    assert role.store.dead_letters() == []
    assert downstream.notified == [], "orphans alert nobody on their own"
    assert role.metrics()["aggregation_readings_orphaned"] == 2
    assert role.metrics()["aggregation_orphans_stored"] == 2
    assert downstream.storage.metrics()["storage_window_parts_created"] == 1
    # sent again (a retry after storage had them): nothing stored twice
    role.windows.merge(marks)
    assert trio.run(role.send_unsent) == 0
    assert parts(role.store) == [[1], [2, 3]]


def test_storage_unreachable__orphans_stay_kept_and_go_on_the_next_try(scene):
    role, downstream, marks = scene
    role.settings.unsent_retry_s = 0.05
    downstream.down = True

    async def merge_fail_then_recover():
        await role._merge(marks, "merge from …b")
        while downstream.screened < 2:  # tried twice, failed twice
            await trio.sleep(0.01)
        assert [len(rs) for _, _, rs, _ in role.windows.unsent()] == [2]
        downstream.down = False
        while role.windows.unsent():
            await trio.sleep(0.01)

    run_loop_until(role, merge_fail_then_recover)
    assert parts(role.store) == [[1], [2, 3]]
    assert role.store.dead_letters() == []


def test_orphans_no_master_attested__parked_by_storage_with_the_reason(scene):
    """A reading without its document (a peer not yet upgraded sent it): storage refuses its
    window as unattested and parks it with that reason — never stored unchecked, never lost."""
    role, _, marks = scene
    role.windows._db.execute("UPDATE readings SET att = NULL")
    role.windows.merge(marks)
    assert trio.run(role.send_unsent) == 2
    assert parts(role.store) == [[1]]
    assert [d.reason for d in role.store.dead_letters("window")] == [
        "unattested: readings no admitted master validated"]
    assert role.windows.unsent() == []


def test_orphans_past_unsent_limit__dead_lettered_with_the_reason(scene):
    """`unsent` is bounded (an admitted aggregator turned hostile could merge made-up readings
    without end): past `unsent_limit` kept, an orphan is dead-lettered as late with the reason,
    in the order found; those kept are stored as a part as usual."""
    role, _, marks = scene
    role.windows.unsent_limit = 1

    async def merge_then_wait():
        await role._merge(marks, "merge from …b")
        while role.windows.unsent():
            await trio.sleep(0.01)

    run_loop_until(role, merge_then_wait)
    assert parts(role.store) == [[1], [2]]
    letters = role.store.dead_letters("reading")
    assert [d.reason for d in letters] == [UNKEPT_REASON]
    assert json.loads(letters[0].payload)["seq"] == 3
    assert role.metrics()["aggregation_orphans_dead_lettered"] == 1
