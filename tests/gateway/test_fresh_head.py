"""A read shares only a head call that started after it arrived (fresh_head.py): never the answer
of a call already on the wire, which may predate a revocation's block."""

import threading

import pytest

from services.gateway.fresh_head import FreshShared

WAIT_S = 10  # a setting for the test's own waits, not an assertion about speed


class Node:
    """A head source whose calls block until released; each call answers its own number."""

    def __init__(self):
        self.calls = 0
        self.release = [threading.Event() for _ in range(4)]
        self.started = [threading.Event() for _ in range(4)]

    def __call__(self):
        self.calls += 1
        number = self.calls
        self.started[number - 1].set()
        assert self.release[number - 1].wait(WAIT_S)
        return number


def _in_thread(shared, results, name):
    thread = threading.Thread(target=lambda: results.__setitem__(name, shared.get()))
    thread.start()
    return thread


def _until(condition):
    event = threading.Event()
    for _ in range(1000):
        if condition():
            return
        event.wait(0.01)
    pytest.fail("condition not reached")


def test_fresh_shared__reads_arriving_during_a_call__share_the_next_call_not_that_one():
    node = Node()
    shared = FreshShared(node)
    results = {}
    first = _in_thread(shared, results, "first")
    assert node.started[0].wait(WAIT_S)  # call 1 is on the wire
    late = [_in_thread(shared, results, name) for name in ("b", "c", "d")]
    _until(lambda: shared.waiting == 3)
    node.release[0].set()
    first.join(WAIT_S)
    assert results["first"] == 1
    assert node.started[1].wait(WAIT_S)  # one of the late reads asks again, for all three
    node.release[1].set()
    for thread in late:
        thread.join(WAIT_S)
    assert results == {"first": 1, "b": 2, "c": 2, "d": 2} and node.calls == 2


def test_fresh_shared__alone__asks_every_time():
    answers = iter(range(1, 100))
    shared = FreshShared(lambda: next(answers))
    assert [shared.get() for _ in range(3)] == [1, 2, 3]


def test_fresh_shared__failed_call__every_sharer_gets_the_error_and_the_next_read_asks_again():
    outcomes = iter([RuntimeError("node down"), 7])

    def fetch():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    shared = FreshShared(fetch)
    with pytest.raises(RuntimeError, match="node down"):
        shared.get()
    assert shared.get() == 7
