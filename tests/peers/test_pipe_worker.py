"""One spawned worker called over pipes the event loop reads itself (services/peers/pipe_worker.py):
real child processes. A call's result and its exception come back as a pool's would, a frame
larger than the pipe goes through whole, a worker killed while it holds a call is reported
(never a hang), and a cancelled call's late reply is not taken for the next call's. A
SingleWorker (worker_processes.py) replaces a dead worker, and one that will not start again
leaves each call to its caller until it does."""

import os
import signal
import time

import pytest
import trio

from services.peers.pipe_worker import PIPE_BYTES, PipeWorker, WorkerDied
from services.peers.worker_processes import SingleWorker


def _nothing() -> None:
    pass


def _failing_start() -> None:
    raise RuntimeError("no store here")


def _start_unless(marker: str) -> None:
    if os.path.exists(marker):
        raise RuntimeError("cannot start now")


def _slow_start() -> None:
    time.sleep(1.0)


def _echo(value):
    return value


def _divide(a: int, b: int) -> float:
    return a / b


def _slow(value, seconds: float):
    time.sleep(seconds)
    return value


def _unpicklable():
    return lambda: None


def _in_worker(body):
    async def main():
        worker = PipeWorker(_nothing, ())
        await worker.start()
        try:
            return await body(worker)
        finally:
            worker.kill()

    return trio.run(main)


def test_results_and_exceptions_come_back_as_a_pools_would():
    async def body(worker):
        assert worker.pid not in (None, os.getpid())
        assert await worker.call(_echo, {"seq": 1, "rr": [800, 810]}) == {"seq": 1, "rr": [800, 810]}
        with pytest.raises(ZeroDivisionError):
            await worker.call(_divide, 1, 0)
        with pytest.raises(RuntimeError, match="unpicklable reply"):
            await worker.call(_unpicklable)
        return await worker.call(_divide, 6, 3)  # the worker carries on after both

    assert _in_worker(body) == 2.0


def test_a_frame_larger_than_the_pipe_goes_through_whole():
    big = os.urandom(3 * PIPE_BYTES + 12345)

    async def body(worker):
        return await worker.call(_echo, big)

    assert _in_worker(body) == big


def test_a_worker_killed_holding_a_call_is_reported_not_waited_for():
    async def body(worker):
        async def kill_soon():
            await trio.sleep(0.3)
            os.kill(worker.pid, signal.SIGKILL)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(kill_soon)
            with trio.fail_after(10), pytest.raises(WorkerDied):
                await worker.call(_slow, "never", 30)
        with pytest.raises(WorkerDied):  # and stays reported: the caller replaces it
            await worker.call(_echo, 1)
        worker.kill()
        with pytest.raises(WorkerDied):  # killed by its owner (a call waiting on it then)
            await worker.call(_echo, 1)
        return True

    assert _in_worker(body)


def test_a_cancelled_calls_late_reply_is_not_the_next_calls():
    async def body(worker):
        with trio.move_on_after(0.2):
            await worker.call(_slow, "first", 0.6)
        return await worker.call(_echo, "second")

    assert _in_worker(body) == "second"


def test_a_start_cancelled_before_the_worker_was_ready__its_ready_frame_is_not_a_reply():
    async def main():
        worker = PipeWorker(_slow_start, ())
        with trio.move_on_after(0.2):
            await worker.start()
        try:
            return await worker.call(_echo, "reply")
        finally:
            worker.kill()

    assert trio.run(main) == "reply"


def test_a_worker_whose_start_fails_is_reported_at_start():
    async def main():
        worker = PipeWorker(_failing_start, ())
        with trio.fail_after(30), pytest.raises(WorkerDied):
            await worker.start()

    trio.run(main)


def test_a_single_worker_that_will_not_start_again_leaves_calls_to_the_caller(tmp_path):
    marker = tmp_path / "refuse-start"

    async def main():
        worker = SingleWorker("test", _start_unless, (str(marker),))
        await worker.start()
        try:
            first = worker.pid
            assert await worker.call(_echo, "one") == "one"
            marker.touch()
            os.kill(first, signal.SIGKILL)
            answers = [await worker.call(_echo, "lost") for _ in range(2)]  # dead, then unstartable
            marker.unlink()
            answers.append(await worker.call(_echo, "lost"))  # still the dead one: replaced now
            answers.append(await worker.call(_echo, "two"))
            return answers, worker.restarts, worker.pid != first
        finally:
            worker.close()

    answers, restarts, replaced = trio.run(main)
    assert answers == [None, None, None, "two"]
    assert (restarts, replaced) == (3, True)
