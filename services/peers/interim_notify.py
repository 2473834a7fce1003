"""The notifier shape of branch `listeners` (services/notify), used until it lands: an outbox
folder of .eml files named by message id (so sending twice writes one file)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


class NotifierUnavailable(Exception):
    """Transient: try again later."""


class NotifierRejected(Exception):
    """Permanent: this email will never be accepted."""


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str


def message_id_for(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@pulseledger.local>"


class OutboxNotifier:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, email: Email) -> None:
        if not email.to:
            raise NotifierRejected("no recipients")
        message = EmailMessage()
        message["To"] = ", ".join(email.to)
        message["From"] = "alerts@pulseledger.local"
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        name = hashlib.sha256(email.message_id.encode()).hexdigest()[:32] + ".eml"
        temporary = self.folder / (name + ".tmp")
        temporary.write_bytes(bytes(message))
        os.replace(temporary, self.folder / name)
