"""The notification role's sender on a worker process of its own: reading the queued emails,
rendering each one to MIME and handing them to the mail system happen beside the peer instead
of under its GIL.

With the sender on a thread of the peer, an alert burst's rendering (~125 emails a round in
the benchmark) took turns with the close rounds, and the burst's p99 due → stored was ~700 ms.
A probe whose emails were never handed over read ~370 ms
(docs/decisions/2026-12-05-alert-burst-syncs-and-stream-course.md).

The worker only reads the ledger (its own connection to the file) and sends. The role settles
what it hands back: it dead-letters the refusals and marks the batch sent, in its own process,
as the thread sender does. So a worker that dies mid-batch loses nothing: the batch is still
`pending`, and it is sent again with the same Message-IDs (`take` returns None, and the caller
sends that round on its thread). NotifierUnavailable crosses back as itself: the role's
backoff is the same."""

from __future__ import annotations

from pathlib import Path

from services.peers.worker_processes import SingleWorker, die_with_parent

_worker = None  # in the worker: (NotificationLedger, Notifier)


def _open(ledger_path: str, settings) -> None:
    global _worker
    die_with_parent()
    from services.peers import backends
    from services.peers.notification_ledger import NotificationLedger

    _worker = (NotificationLedger(Path(ledger_path)), backends.open_notifier(settings))


def _take(limit: int) -> tuple[list[str], dict[int, str]]:
    """The keys of the oldest queued emails, handed over, and the refusals by index."""
    ledger, notifier = _worker
    batch = ledger.pending(limit)
    if not batch:
        return [], {}
    rejected = notifier.send_many([email for _, email in batch])
    return [key for key, _ in batch], {index: str(exc) for index, exc in rejected.items()}


class SenderProcess(SingleWorker):
    def __init__(self, ledger_path: Path, settings):
        """`settings`: the peer's (PeersSettings); the worker opens the notifier they name."""
        super().__init__("notification sender", _open, (str(ledger_path), settings))

    async def take(self, limit: int) -> tuple[list[str], dict[int, str]] | None:
        """As _take, or None when the worker died holding the call (replaced for the next)."""
        return await self.call(_take, limit)
