"""One interface for every queue that carries readings to the masters.

Peek-lock semantics everywhere: `receive` hides messages from other consumers until their lock
expires; `complete` removes them (call it only after the readings are stored); `abandon` returns
them at once (transient failure); `dead_letter` parks them with a reason. A message delivered
`max_delivery_count` times is dead-lettered by the queue itself, so a poison message cannot loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    body: bytes
    delivery_count: int
    lock_token: str


class QueueSource(Protocol):
    def receive(self, max_messages: int) -> list[QueueMessage]: ...

    def complete(self, messages: list[QueueMessage]) -> None: ...

    def abandon(self, messages: list[QueueMessage]) -> None: ...

    def renew(self, messages: list[QueueMessage]) -> None:
        """Extend the locks of messages still being worked on (only while still held)."""

    def dead_letter(self, message: QueueMessage, reason: str) -> None: ...

    def oldest_pending_ms(self) -> int | None:
        """When the oldest message not yet completed was sent (ms since the epoch; None: empty).
        The source watermark: masters report it, and an aggregator closes a window only once it
        is past the window's end + grace, so a reading that reached the queue in time is never
        late because of delays inside the network (docs/peers.md)."""

    def close(self) -> None: ...


class QueueSink(Protocol):
    def send(self, bodies: list[bytes]) -> None: ...

    def depth(self) -> int:
        """Messages waiting to be consumed: how far behind the consumers are (backpressure)."""

    def close(self) -> None: ...


class LockLost(Exception):
    """The message's lock expired and another consumer may hold it: do not complete it."""
