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


def test_one_queue_object__shared_by_a_feeder_and_a_monitor_thread__while_a_master_consumes(tmp_path):
    """A sender thread and a depth-polling thread share one LocalQueue while another connection
    receives and completes: every send must land (a statement of one thread running inside the
    other's transaction made BEGIN IMMEDIATE fail with 'database is locked' at once)."""
    import threading

    shared = LocalQueue(tmp_path / "q.db")
    consumer = LocalQueue(tmp_path / "q.db")
    errors, done = [], threading.Event()

    def feed():
        try:
            for i in range(1000):
                shared.send([f"m{i}-{j}".encode() for j in range(5)])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    def monitor():
        try:
            while not done.is_set():
                shared.depth()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    consumed = 0
    threads = [threading.Thread(target=feed), threading.Thread(target=monitor)]
    for thread in threads:
        thread.start()
    while not done.is_set() or shared.depth():
        batch = consumer.receive(50)
        consumer.complete(batch)
        consumed += len(batch)
    for thread in threads:
        thread.join()
    assert errors == []
    assert consumed == 5000


def test_pending_bodies__opened_and_nothing_taken(tmp_path):
    """What is still waiting, read for a count: the bodies as sent (opened from their seal), and
    nothing locked or counted as a delivery — a receive afterwards gets every message, first time."""
    queue = LocalQueue(tmp_path / "queue.db")
    queue.send([b'{"a": 1}', b'{"b": 2}'])
    assert queue.pending_bodies() == [b'{"a": 1}', b'{"b": 2}']
    received = queue.receive(5)
    assert [m.body for m in received] == [b'{"a": 1}', b'{"b": 2}']
    assert [m.delivery_count for m in received] == [1, 1]
    queue.complete(received[:1])
    assert queue.pending_bodies() == [b'{"b": 2}']


def test_oldest_pending__send_time_of_the_oldest_message_not_completed__locked_ones_count(
        tmp_path):
    queue = LocalQueue(tmp_path / "q.db", lock_s=30)
    assert queue.oldest_pending_ms() is None
    before = int(time.time() * 1000)
    queue.send([b"first"])
    time.sleep(0.01)
    queue.send([b"second"])
    first = queue.oldest_pending_ms()
    assert before <= first <= int(time.time() * 1000)
    held = queue.receive(1)  # a master holds it: its readings are not routed yet
    assert queue.oldest_pending_ms() == first
    queue.complete(held)
    assert queue.oldest_pending_ms() > first
    queue.complete(queue.receive(1))
    assert queue.oldest_pending_ms() is None


def test_oldest_pending__queue_written_before_send_times_were_kept__counts_as_long_ago(tmp_path):
    import sqlite3

    path = tmp_path / "q.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB "
                      "NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, lock_token TEXT, "
                      "locked_until REAL NOT NULL DEFAULT 0);"
                      "INSERT INTO messages (body) VALUES (x'7b7d');")
    old.commit()
    old.close()
    queue = LocalQueue(path)
    assert queue.oldest_pending_ms() == 0  # windows wait for it to drain rather than guess
    assert queue.depth() == 1
