"""Azure Service Bus as a queue source (azure-servicebus, peek-lock).

Service Bus itself cannot run on these machines (no emulator outside Docker): the tests drive this
adapter at the SDK boundary, with a receiver/sender object that implements the SDK methods used
here (`receive_messages`, `complete_message`, `abandon_message`, `dead_letter_message`,
`send_messages`, `peek_messages`; for the depth, the administration client's `get_queue_runtime_properties`). The
entity's own MaxDeliveryCount moves poison messages to its dead-letter
sub-queue; `dead_letter` here is for messages we judge unprocessable ourselves.
"""

from __future__ import annotations

from services.ingest.queues.base import LockLost, QueueMessage


class ServiceBusQueue:
    def __init__(self, receiver, sender=None, max_wait_s: float = 1.0, client=None, admin=None,
                 queue_name: str = ""):
        self._receiver = receiver
        self._sender = sender
        self._client = client
        self._admin = admin
        self._queue_name = queue_name
        self._max_wait_s = max_wait_s
        self._held: dict[str, object] = {}  # lock token -> the SDK message (needed to settle it)

    @classmethod
    def from_connection_string(cls, connection_string: str, queue_name: str,
                               max_wait_s: float = 1.0) -> ServiceBusQueue:
        from azure.servicebus import ServiceBusClient, ServiceBusReceiveMode
        from azure.servicebus.management import ServiceBusAdministrationClient

        client = ServiceBusClient.from_connection_string(connection_string)
        receiver = client.get_queue_receiver(
            queue_name, receive_mode=ServiceBusReceiveMode.PEEK_LOCK, max_wait_time=max_wait_s
        )
        admin = ServiceBusAdministrationClient.from_connection_string(connection_string)
        return cls(receiver, client.get_queue_sender(queue_name), max_wait_s, client, admin,
                   queue_name)

    def depth(self) -> int:
        """Messages waiting for a consumer (active: neither dead-lettered nor scheduled), as the
        namespace's management endpoint counts them (a little behind: it is sampled)."""
        return int(self._admin.get_queue_runtime_properties(self._queue_name)
                   .active_message_count)

    def oldest_pending_ms(self) -> int | None:
        """When the oldest message still in the entity was enqueued (peeked from sequence number
        1: a peek from the default position would start after the last message we received and
        miss the ones other masters hold locked); None when it is empty."""
        peeked = self._receiver.peek_messages(max_message_count=1, sequence_number=1)
        if not peeked:
            return None
        return int(peeked[0].enqueued_time_utc.timestamp() * 1000)

    def send(self, bodies: list[bytes]) -> None:
        from azure.servicebus import ServiceBusMessage

        self._sender.send_messages([ServiceBusMessage(body) for body in bodies])

    def receive(self, max_messages: int) -> list[QueueMessage]:
        received = self._receiver.receive_messages(
            max_message_count=max_messages, max_wait_time=self._max_wait_s
        )
        messages = []
        for sdk_message in received:
            token = str(sdk_message.lock_token)
            self._held[token] = sdk_message
            body = b"".join(bytes(section) for section in sdk_message.body)
            messages.append(QueueMessage(str(sdk_message.message_id), body,
                                         int(sdk_message.delivery_count or 0), token))
        return messages

    def complete(self, messages: list[QueueMessage]) -> None:
        self._settle(messages, self._receiver.complete_message)

    def abandon(self, messages: list[QueueMessage]) -> None:
        self._settle(messages, self._receiver.abandon_message)

    def renew(self, messages: list[QueueMessage]) -> None:
        for message in messages:
            sdk_message = self._held.get(message.lock_token)
            if sdk_message is not None:
                self._receiver.renew_message_lock(sdk_message)

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self._settle([message], lambda m: self._receiver.dead_letter_message(
            m, reason=reason[:200], error_description=reason))

    def _settle(self, messages: list[QueueMessage], action) -> None:
        from azure.servicebus.exceptions import MessageLockLostError

        lost = []
        for message in messages:
            sdk_message = self._held.pop(message.lock_token, None)
            if sdk_message is None:
                lost.append(message)
                continue
            try:
                action(sdk_message)
            except MessageLockLostError:
                lost.append(message)
        if lost:
            raise LockLost(f"{len(lost)} message lock(s) lost; Service Bus will redeliver them")

    def close(self) -> None:
        for closable in (self._receiver, self._sender, self._client, self._admin):
            if closable is not None:
                closable.close()
