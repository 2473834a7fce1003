"""An aggregator's ingest on a worker process (services/peers/ingest_process.py): a real spawned
process writing the same window-store file the loop's connection closes windows in."""

import os
import signal

import trio

from services.peers.ingest_process import ClosingFirstLock, IngestProcess
from services.peers.roles.aggregation import LOOP_CHECKPOINT_PAGES
from services.peers.window_store import CLOSING, WindowStore

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


def test_checkpoint_after__the_loops_writes_wait_in_the_wal_for_the_workers_next_commit(tmp_path):
    """With an ingest process the loop's connection checkpoints only past LOOP_CHECKPOINT_PAGES
    (aggregation.py): its commits, however large, only append to the WAL; the worker's next
    commit (SQLite's default, 1,000 pages) copies them into the file."""
    path = tmp_path / "w.db"
    loop_store = WindowStore(path, 10_000, KEY)
    loop_store.checkpoint_after(LOOP_CHECKPOINT_PAGES)
    worker_store = WindowStore(path, 10_000, KEY)
    size = path.stat().st_size
    # ~2,400 pages of readings in one transaction (a close round's marks are ~3,000)
    loop_store.ingest([{"userId": f"device-{d:04d}", "seq": s, "ts_ms": s * 1_000,
                        "heartrate": 70.0, "rr": [850]} for d in range(3_000) for s in range(20)])
    assert path.stat().st_size == size  # all of it still in the WAL
    worker_store.ingest([reading(1, 1_000)])
    assert path.stat().st_size > size + 4_000_000  # the worker's commit checkpointed it


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
