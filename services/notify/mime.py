"""Renders an Email as an RFC 5322 message (text part, optional HTML alternative)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from services.notify.base import Email, NotifierRejected


def to_mime(email: Email, sender: str) -> EmailMessage:
    if not email.to:
        raise NotifierRejected("email has no recipient")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message
