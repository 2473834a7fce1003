"""Embedded default: each email becomes one .eml file in a folder (nothing to install)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from services.notify.base import Email, Notifier, NotifierRejected, NotifierUnavailable
from services.notify.mime import to_mime
from services.runtime.durable_files import sync_files, sync_folder


class OutboxNotifier(Notifier):
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def path_for(self, email: Email) -> Path:
        # Named by Message-ID: a resend of the same email replaces its file, never adds one.
        name = hashlib.sha256(email.message_id.encode()).hexdigest()[:32]
        return self.folder / f"{name}.eml"

    def send(self, email: Email) -> None:
        rejected = self.send_many([email])
        if rejected:
            raise rejected[0]

    def send_many(self, emails: list[Email]) -> dict[int, NotifierRejected]:
        """Write every file, sync them to disk, then move each into place: a reader never
        sees half a message, and a crash never leaves an empty one under its name. A batch
        costs two syncs (its files, then the folder's names; services/runtime/durable_files.py)
        where a sync per file cost one each: an alert burst (~1,000 a few seconds apart)
        slowed every durable commit on the machine."""
        rejected: dict[int, NotifierRejected] = {}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            written = []
            for index, email in enumerate(emails):
                try:
                    body = to_mime(email, self.sender).as_bytes()
                except NotifierRejected as exc:
                    rejected[index] = exc
                    continue
                target = self.path_for(email)
                temporary = target.with_suffix(".tmp")
                temporary.write_bytes(body)
                written.append((temporary, target))
            # on disk before any is renamed: a crash must not leave an empty message in place
            sync_files([temporary for temporary, _ in written], self.folder)
            for temporary, target in written:
                os.replace(temporary, target)  # atomic: a reader never sees half a message
            sync_folder(self.folder)  # the names too: a message handed over survives a crash
        except OSError as error:
            raise NotifierUnavailable(f"outbox folder not writable: {error.strerror}") from error
        return rejected
