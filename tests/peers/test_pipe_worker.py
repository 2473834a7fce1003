"""One spawned worker called over pipes the event loop reads itself (services/peers/pipe_worker.py):
real child processes. A call's result and its exception come back as a pool's would, a frame
larger than the pipe goes through whole, a worker killed while it holds a call is reported
(never a hang), and a cancelled call's late reply is not taken for the next call's."""

import os
import signal
import time

import pytest
import trio

from services.peers.pipe_worker import PIPE_BYTES, PipeWorker, WorkerDied


def _nothing() -> None:
    pass


def _failing_start() -> None:
    raise RuntimeError("no store here")


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
        return True

    assert _in_worker(body)


def test_a_cancelled_calls_late_reply_is_not_the_next_calls():
    async def body(worker):
        with trio.move_on_after(0.2):
            await worker.call(_slow, "first", 0.6)
        return await worker.call(_echo, "second")

    assert _in_worker(body) == "second"


def test_a_worker_whose_start_fails_is_reported_at_start():
    async def main():
        worker = PipeWorker(_failing_start, ())
        with trio.fail_after(30), pytest.raises(WorkerDied):
            await worker.start()

    trio.run(main)
