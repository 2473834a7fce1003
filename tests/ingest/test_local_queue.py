import time

from services.ingest.queues.local import LocalQueue


def test_receive__locked_messages__are_invisible_to_a_second_consumer(tmp_path):
    first, second = LocalQueue(tmp_path / "q.db", lock_s=30), LocalQueue(tmp_path / "q.db", lock_s=30)
    first.send([b"a", b"b", b"c"])
    got_first = first.receive(2)
    got_second = second.receive(10)
    assert [m.body for m in got_first] == [b"a", b"b"]
    assert [m.body for m in got_second] == [b"c"]


def test_complete__removes_only_what_the_lock_holder_completes(tmp_path):
    queue = LocalQueue(tmp_path / "q.db")
    queue.send([b"a", b"b"])
    messages = queue.receive(10)
    queue.complete(messages[:1])
    assert queue.depth() == 1


def test_lock_expiry__a_dead_consumers_messages_return_to_others(tmp_path):
    dead = LocalQueue(tmp_path / "q.db", lock_s=0.05)
    live = LocalQueue(tmp_path / "q.db", lock_s=30)
    dead.send([b"a"])
    stale = dead.receive(1)
    assert live.receive(1) == []
    time.sleep(0.1)
    redelivered = live.receive(1)
    assert [m.body for m in redelivered] == [b"a"]
    assert redelivered[0].delivery_count == 2
    dead.complete(stale)  # the stale lock holder cannot remove what the live one owns
    assert live.depth() == 1
    live.complete(redelivered)
    assert live.depth() == 0


def test_abandon__returns_the_message_at_once(tmp_path):
    queue = LocalQueue(tmp_path / "q.db", lock_s=30)
    queue.send([b"a"])
    queue.abandon(queue.receive(1))
    assert [m.body for m in queue.receive(1)] == [b"a"]


def test_max_delivery_count__poison_message_is_dead_lettered(tmp_path):
    queue = LocalQueue(tmp_path / "q.db", lock_s=30, max_delivery_count=2)
    queue.send([b"poison"])
    for _ in range(2):
        queue.abandon(queue.receive(10))
    assert queue.receive(10) == []
    assert queue.dead_lettered() == [(b"poison", "max delivery count exceeded")]


def test_dead_letter__keeps_the_reason(tmp_path):
    queue = LocalQueue(tmp_path / "q.db")
    queue.send([b"x"])
    queue.dead_letter(queue.receive(1)[0], "malformed")
    assert queue.dead_lettered() == [(b"x", "malformed")]
    assert queue.depth() == 0


def test_renew__keeps_a_slow_consumers_messages_from_others(tmp_path):
    slow = LocalQueue(tmp_path / "q.db", lock_s=0.2)
    other = LocalQueue(tmp_path / "q.db", lock_s=30)
    slow.send([b"a"])
    held = slow.receive(1)
    for _ in range(3):
        time.sleep(0.1)
        slow.renew(held)
    assert other.receive(1) == []
    slow.complete(held)
    assert slow.depth() == 0
