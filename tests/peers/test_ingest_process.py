"""An aggregator's ingest on a worker process (services/peers/ingest_process.py): a real spawned
process writing the same window-store file the loop's connection closes windows in."""

import os
import signal

import trio

from services.peers.ingest_process import (
    CATCH_UP_BYTES,
    CheckpointsBesideCalls,
    ClosingFirstLock,
    IngestProcess,
)
from services.peers.roles.aggregation import LOOP_CHECKPOINT_BYTES
from services.peers.window_store import CLOSING, PAGE_SIZE, WindowStore

KEY = b"\x07" * 32


def reading(seq, ts, hr=70.0):
    return {"userId": "dev", "seq": seq, "ts_ms": ts, "heartrate": hr, "rr": [850]}


def test_ingest_on_the_worker__the_same_outcomes_as_in_the_loop(tmp_path):
    """Accepted, duplicate, replay and late as the store judges them, through another process
    and its own connection: a closing mark the loop commits makes the window late there."""
    loop_store = WindowStore(tmp_path / "w.db", 10_000, KEY)

    async def main():
        process = IngestProcess(tmp_path / "w.db", 10_000, KEY)
        await process.start()
        try:
            assert process.pid != os.getpid()
            first = await process.ingest([reading(1, 1_000), reading(2, 12_000)], 0.0, None, None)
            again = await process.ingest([reading(1, 1_000), reading(2, 12_000, hr=99.0)], 0.0,
                                         None, None)
            loop_store.mark([("dev", 10_000)], CLOSING)
            late = await process.ingest([reading(3, 13_000)], 0.0, None, None)
        finally:
            process.close()
        return first, again, late

    first, again, late = trio.run(main)
    assert first == ["accepted", "accepted"]
    assert again == ["duplicate", "replay"]
    assert late == ["late"]
    # what the worker wrote, the loop's connection reads (sealed with the same key beside it)
    assert [r["heartrate"] for r in loop_store.window_readings("dev", 0)] == [70.0]


def test_checkpoint_after__the_loops_writes_wait_in_the_wal_for_the_workers_next_call(tmp_path):
    """With an ingest process the loop's connection checkpoints only past LOOP_CHECKPOINT_BYTES
    (aggregation.py): its commits, however large, only append to the WAL; the catch-up the
    worker runs before its next call copies them into the file."""
    path = tmp_path / "w.db"
    loop_store = WindowStore(path, 10_000, KEY)
    loop_store.checkpoint_after(LOOP_CHECKPOINT_BYTES)
    checkpoints = CheckpointsBesideCalls(path)
    size = path.stat().st_size
    # ~10 MB of readings in one transaction (638 pages of 16 kB), under LOOP_CHECKPOINT_BYTES
    loop_store.ingest([{"userId": f"device-{d:04d}", "seq": s, "ts_ms": s * 1_000,
                        "heartrate": 70.0, "rr": [850]} for d in range(3_000) for s in range(20)])
    assert path.stat().st_size == size  # all of it still in the WAL
    checkpoints.finish()  # what the worker's next call begins with
    assert path.stat().st_size > size + 4_000_000


def test_worker_killed__the_call_comes_back_for_the_loop__the_next_runs_on_a_new_worker(tmp_path):
    WindowStore(tmp_path / "w.db", 10_000, KEY).close()

    async def main():
        process = IngestProcess(tmp_path / "w.db", 10_000, KEY)
        await process.start()
        try:
            os.kill(process.pid, signal.SIGKILL)
            with trio.fail_after(30):
                lost = await process.ingest([reading(1, 1_000)], 0.0, None, None)
                after = await process.ingest([reading(2, 2_000)], 0.0, None, None)
        finally:
            process.close()
        return lost, after, process.restarts

    lost, after, restarts = trio.run(main)
    assert lost is None  # the caller ingests it in-process
    assert after == ["accepted"]
    assert restarts == 1


def test_closing_first__a_waiting_closing_write_goes_before_every_waiting_ingest_call():
    """An ingest call already waiting for the lock when a round's write comes still lets the
    round go first (a FIFO lock would not)."""
    order = []

    async def main():
        writes = ClosingFirstLock()

        async def ingest(name, hold_s):
            async with writes.ingest():
                order.append(name)
                await trio.sleep(hold_s)

        async def closing():
            async with writes.closing():
                order.append("closing")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ingest, "ingest writing", 0.2)
            await trio.sleep(0.05)
            nursery.start_soon(ingest, "ingest waiting before", 0.0)
            await trio.sleep(0.05)
            nursery.start_soon(closing)
            await trio.sleep(0.05)
            nursery.start_soon(ingest, "ingest queued after", 0.0)

    trio.run(main)
    assert order[:2] == ["ingest writing", "closing"]  # the ingest calls after it, in any order
    assert sorted(order[2:]) == ["ingest queued after", "ingest waiting before"]


def _call_of(seq: int, devices: int = 3_000) -> list[dict]:
    """One master call's readings: one per device."""
    return [{"userId": f"device-{d:04d}", "seq": seq, "ts_ms": seq * 1_000 + 20_000,
             "heartrate": 70.0, "rr": [850]} for d in range(devices)]


CALLS = 40


def _call_the_same_size(call: int) -> list[dict]:
    """200 readings of each of 30 devices, after the previous call's: every call appends as
    many pages as the last (one reading of thousands of devices touches more pages each call,
    as their rows spread over more leaves)."""
    return [{"userId": f"device-{d:02d}", "seq": seq, "ts_ms": 20_000 + seq * 10,
             "heartrate": 70.0, "rr": [850]}
            for d in range(30) for seq in range(call * 200 + 1, call * 200 + 201)]


def test_checkpoints_beside_calls__a_commit_copies_nothing__the_thread_and_catch_up_copy_all(tmp_path):
    """The worker's commits leave the WAL as it is (no checkpoint while the writer is held);
    the thread started after a call copies it into the file, and the next call's catch-up
    leaves nothing uncopied, the loop's writes meanwhile included."""
    path = tmp_path / "w.db"
    worker_store = WindowStore(path, 10_000, KEY)
    worker_store.checkpoint_after(0)
    loop_store = WindowStore(path, 10_000, KEY)
    loop_store.checkpoint_after(LOOP_CHECKPOINT_BYTES)
    checkpoints = CheckpointsBesideCalls(path)
    size = path.stat().st_size
    worker_store.ingest([r for s in range(20) for r in _call_of(s + 1)])
    assert path.stat().st_size == size  # committed, all of it still in the WAL
    checkpoints.after_call()
    checkpoints.finish()
    assert path.stat().st_size > size + 4_000_000
    loop_store.mark([(f"device-{d:04d}", 20_000) for d in range(3_000)], CLOSING)
    checkpoints.finish()
    busy, in_wal, copied = loop_store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and in_wal == copied  # nothing left to copy before the next call


def test_checkpoints_beside_calls__a_call_catches_up_only_once_the_wal_is_long(tmp_path):
    """Below catch_up_bytes a call writes beside the checkpoint (no wait, nothing copied
    first); once the WAL is that long, the next call first copies all of it, so that its own
    write restarts the WAL from its top."""
    path = tmp_path / "w.db"
    worker_store = WindowStore(path, 10_000, KEY)
    worker_store.checkpoint_after(0)
    checkpoints = CheckpointsBesideCalls(path, catch_up_bytes=250 * PAGE_SIZE)
    waited = [checkpoints.before_call()]  # a fresh store: nothing to catch up
    worker_store.ingest(_call_of(1))
    checkpoints.after_call()
    checkpoints._running.join()
    assert 0 < checkpoints.frames < 250  # one call's worth, shorter than the bound
    size = path.stat().st_size
    waited.append(checkpoints.before_call())
    worker_store.ingest([r for s in range(2, 12) for r in _call_of(s)])
    assert path.stat().st_size == size  # nothing copied before or in the call
    checkpoints.after_call()
    checkpoints._running.join()
    long_wal = checkpoints.frames
    assert long_wal >= 250
    waited.append(checkpoints.before_call())
    assert waited == [False, False, True]
    worker_store.ingest(_call_of(12, devices=100))  # a few pages
    _, in_wal, _ = worker_store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert in_wal < long_wal / 5  # the call's write restarted the WAL from its top


def test_checkpoints_beside_calls__the_wal_restarts__its_file_stays_bounded(tmp_path):
    """Calls on a real worker, each followed by a closing write of the loop while the worker's
    checkpoint runs: the WAL restarts from its top whenever it has grown to CATCH_UP_BYTES,
    so its file stops growing however many calls there are (a checkpoint beside a writer that
    never pauses, with no catch-up, grew it without end)."""
    path = tmp_path / "w.db"
    loop_store = WindowStore(path, 10_000, KEY)
    loop_store.checkpoint_after(LOOP_CHECKPOINT_BYTES)
    wal = path.with_name("w.db-wal")

    async def main():
        process = IngestProcess(path, 10_000, KEY)
        await process.start()
        sizes = []
        try:
            for call in range(CALLS):
                outcomes = await process.ingest(_call_the_same_size(call), 0.0, None, None)
                assert outcomes.count("accepted") == 6_000
                # windows of other devices: the calls' own stay open
                loop_store.mark([(f"other-{d:04d}", 0)
                                 for d in range(call * 300, call * 300 + 300)], CLOSING)
                sizes.append(wal.stat().st_size)
        finally:
            process.close()
        return sizes

    sizes = trio.run(main)
    one_call = sizes[0]  # the file after the first call (and the loop's marks)
    # the bound and some calls past it: the checkpoint's count of the WAL is read when it ends,
    # and one runs beside several calls (measured: 20 MB + 4 calls); without the catch-up the
    # file grows a call's worth at every call (~160 MB here)
    assert max(sizes) <= CATCH_UP_BYTES * (PAGE_SIZE + 24) / PAGE_SIZE + 8 * one_call
    # the second half of the calls grows the file by less than one call: the WAL restarts
    assert sizes[-1] - sizes[CALLS // 2] < one_call
