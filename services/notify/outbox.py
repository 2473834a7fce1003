"""Embedded default: each email becomes one .eml file in a folder (nothing to install)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from services.notify.base import Email, Notifier, NotifierUnavailable
from services.notify.mime import to_mime


class OutboxNotifier(Notifier):
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def path_for(self, email: Email) -> Path:
        # Named by Message-ID: a resend of the same email replaces its file, never adds one.
        name = hashlib.sha256(email.message_id.encode()).hexdigest()[:32]
        return self.folder / f"{name}.eml"

    def send(self, email: Email) -> None:
        body = to_mime(email, self.sender).as_bytes()
        target = self.path_for(email)
        temporary = target.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)  # atomic: a reader never sees half a message
        except OSError as error:
            raise NotifierUnavailable(f"outbox folder not writable: {error.strerror}") from error
