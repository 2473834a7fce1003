"""The Service Bus adapter, tested at the SDK boundary.

Service Bus has no emulator that runs here (it needs Docker). `FakeReceiver` implements the SDK's
receiver methods the adapter calls, with the SDK's peek-lock rules (a settled or lock-expired
message cannot be settled again: `MessageLockLostError`), and gives back objects carrying the
fields of `ServiceBusReceivedMessage` that the adapter reads.
"""

from dataclasses import dataclass

import pytest
from azure.servicebus.exceptions import MessageLockLostError

from services.ingest.queues.base import LockLost
from services.ingest.queues.servicebus import ServiceBusQueue


@dataclass
class FakeMessage:
    message_id: str
    payload: bytes
    delivery_count: int
    lock_token: str

    @property
    def body(self):  # the SDK yields the AMQP body as sections of bytes
        return iter([self.payload[:3], self.payload[3:]])


class FakeReceiver:
    def __init__(self, bodies):
        self.available = list(bodies)
        self.locked: dict[str, FakeMessage] = {}
        self.completed, self.abandoned, self.dead = [], [], []
        self.counter = 0

    def receive_messages(self, max_message_count=1, max_wait_time=None):
        out = []
        while self.available and len(out) < max_message_count:
            body, count = self.available.pop(0) if isinstance(self.available[0], tuple) else (
                self.available.pop(0), 0)
            self.counter += 1
            message = FakeMessage(f"m{body!r}", body, count + 1, f"lock-{self.counter}")
            self.locked[message.lock_token] = message
            out.append(message)
        return out

    def _settle(self, message):
        if self.locked.pop(message.lock_token, None) is None:
            raise MessageLockLostError(message="lock lost")

    def complete_message(self, message):
        self._settle(message)
        self.completed.append(message.payload)

    def abandon_message(self, message):
        self._settle(message)
        self.abandoned.append(message.payload)
        self.available.append((message.payload, message.delivery_count))

    def dead_letter_message(self, message, reason=None, error_description=None):
        self._settle(message)
        self.dead.append((message.payload, reason))

    def expire_all_locks(self):
        self.locked.clear()

    def close(self):
        pass


def test_receive__joins_body_sections_and_keeps_delivery_count():
    queue = ServiceBusQueue(FakeReceiver([b"hello world"]))
    [message] = queue.receive(10)
    assert message.body == b"hello world"
    assert message.delivery_count == 1


def test_complete_abandon_dead_letter__settle_through_the_sdk():
    receiver = FakeReceiver([b"one", b"two", b"three"])
    queue = ServiceBusQueue(receiver)
    one, two, three = queue.receive(3)
    queue.complete([one])
    queue.abandon([two])
    queue.dead_letter(three, "unknown device")
    assert receiver.completed == [b"one"]
    assert receiver.abandoned == [b"two"]
    assert receiver.dead == [(b"three", "unknown device")]
    [again] = queue.receive(1)
    assert again.body == b"two" and again.delivery_count == 2


def test_complete__after_lock_expiry__raises_lock_lost():
    receiver = FakeReceiver([b"one"])
    queue = ServiceBusQueue(receiver)
    messages = queue.receive(1)
    receiver.expire_all_locks()
    with pytest.raises(LockLost):
        queue.complete(messages)


def test_renew__calls_the_sdk_for_held_messages():
    receiver = FakeReceiver([b"one"])
    renewed = []
    receiver.renew_message_lock = lambda message, **kw: renewed.append(message.payload)
    queue = ServiceBusQueue(receiver)
    queue.renew(queue.receive(1))
    assert renewed == [b"one"]


def test_depth__active_messages_from_the_management_sdk():
    """The depth the device endpoint's backpressure reads: the queue's active messages, asked of
    the administration client by queue name (its runtime properties object, faked here)."""
    asked = []

    class FakeAdmin:
        def get_queue_runtime_properties(self, name):
            asked.append(name)
            return type("QueueRuntimeProperties", (), {"active_message_count": 1234,
                                                       "dead_letter_message_count": 7})()

        def close(self):
            asked.append("closed")

    queue = ServiceBusQueue(FakeReceiver([]), admin=FakeAdmin(), queue_name="readings")
    assert queue.depth() == 1234
    queue.close()
    assert asked == ["readings", "closed"]


def test_from_connection_string__builds_sender_receiver_and_admin_offline():
    """The SDK clients are built from the connection string without a network call (they connect
    on first use), so the wiring is checked here for real."""
    connection = ("Endpoint=sb://pulseledger-test.servicebus.windows.net/;"
                  "SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0")
    queue = ServiceBusQueue.from_connection_string(connection, "readings")
    from azure.servicebus.management import ServiceBusAdministrationClient

    assert isinstance(queue._admin, ServiceBusAdministrationClient)
    assert queue._queue_name == "readings"
    queue.close()


def test_oldest_pending__peeked_from_the_first_sequence_number():
    """A peek from the SDK's default position starts after the last message this receiver got,
    skipping the ones other masters hold locked: the adapter peeks from sequence number 1."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    class Peeking:
        def __init__(self, enqueued):
            self.enqueued, self.asked = enqueued, []

        def peek_messages(self, max_message_count=1, sequence_number=0):
            self.asked.append((max_message_count, sequence_number))
            return [SimpleNamespace(enqueued_time_utc=t) for t in self.enqueued[:max_message_count]]

    sent = datetime(2026, 12, 3, 18, 0, 0, 250_000, tzinfo=UTC)
    receiver = Peeking([sent])
    assert ServiceBusQueue(receiver).oldest_pending_ms() == int(sent.timestamp() * 1000)
    assert receiver.asked == [(1, 1)]
    assert ServiceBusQueue(Peeking([])).oldest_pending_ms() is None
