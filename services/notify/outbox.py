"""Embedded default: each email becomes one .eml file in a folder (nothing to install)."""

from __future__ import annotations

import email
import email.parser
import email.policy
import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

from services.notify.base import Email, Notifier, NotifierRejected, NotifierUnavailable
from services.notify.mime import to_mime
from services.runtime.durable_files import sync_files, sync_folder


class OutboxNotifier(Notifier):
    def __init__(self, folder: Path, sender: str, gateway_url: str | None = None) -> None:
        self.folder = Path(folder)
        self.sender, self.gateway_url = sender, gateway_url

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
                    body = to_mime(email, self.sender, self.gateway_url).as_bytes()
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


def read_outbox(folder: Path, to: set[str] | None = None,
                since_ns: int = 0) -> list[EmailMessage]:
    """The messages in an outbox folder (those to an address in `to`, if given, written since
    `since_ns` on the file clock), oldest first:
    for the demo's actors and tests, who read their mail where the embedded default delivers
    it. Headers are read first, so a folder of many alerts costs little to search."""
    folder = Path(folder)
    dated = [(p.stat().st_mtime_ns, p.name, p) for p in folder.glob("*.eml")] \
        if folder.is_dir() else []
    paths = [p for mtime, _, p in sorted(dated) if mtime >= since_ns]
    headers = email.parser.BytesHeaderParser(policy=email.policy.default)
    found = []
    for path in paths:
        raw = path.read_bytes()
        if to is None or headers.parsebytes(raw)["To"] in to:
            found.append(email.message_from_bytes(raw, policy=email.policy.default))
    return found


def plain_text(message: EmailMessage) -> str:
    """A message's text part (alerts carry an HTML part beside it; confirmations do not)."""
    body = message.get_body(preferencelist=("plain",))
    return "" if body is None else body.get_content()
