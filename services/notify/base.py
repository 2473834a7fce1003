"""The notifier interface every backend implements, and the stable Message-ID rule."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

MESSAGE_ID_DOMAIN = "pulseledger.invalid"


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    message_id: str
    # The one-click stop of RFC 8058 for this recipient ("owner=…&email=…&token=…",
    # services/notify/stop_links.py); a notifier told the gateway's public address renders it
    # as the List-Unsubscribe headers, so a mail client's own button stops these emails.
    stop_query: str | None = None


class NotifierError(Exception):
    """Base class: the email was not accepted."""


class NotifierUnavailable(NotifierError):
    """Transient: the server could not be reached or deferred the message; retry later."""


class NotifierRejected(NotifierError):
    """Permanent: the server refused the message itself; retrying the same message will not help."""


class Notifier(ABC):
    """Hands one email to a mail system. Returns only once the system has accepted it."""

    @abstractmethod
    def send(self, email: Email) -> None:
        """Raise NotifierUnavailable (transient) or NotifierRejected (permanent) on failure."""

    def send_many(self, emails: list[Email]) -> dict[int, NotifierRejected]:
        """Hand several emails over; returns once every one is accepted, except those refused
        permanently (their index -> the refusal). NotifierUnavailable propagates: some before
        it may have gone, and the caller resends (each with its Message-ID). One at a time
        here; a backend that can make several durable together overrides it."""
        rejected = {}
        for index, email in enumerate(emails):
            try:
                self.send(email)
            except NotifierRejected as exc:
                rejected[index] = exc
        return rejected

    def close(self) -> None:
        """Release connections; the notifier may be used again afterwards."""


def message_id_for(idempotency_key: str) -> str:
    """A stable RFC 5322 Message-ID: the same key always yields the same id, so a resend made
    after a crash in the send window is recognisable as a duplicate by the receiver."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"
