"""Renders an Email as an RFC 5322 message (text part, optional HTML alternative).

Built with the email package's MIMEText/MIMEMultipart (its compat32 classes), not EmailMessage:
the default policy's header registry parses every header it is given, ~1.3 ms a message, about
a third of a notification peer's work while alerts go out; these take ~0.4 ms. What that
policy did for us is done here: text with non-ASCII characters (a patient's name in a subject or
a sender's display name) is RFC 2047-encoded, a header value with a line break is refused (a
name must not add headers), and so is an address that is not ASCII (it has no 7-bit form).
"""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, getaddresses

from services.notify.base import Email, NotifierRejected
from services.notify.stop_links import one_click_url

_UTF8_QUOTED_PRINTABLE = Charset("utf-8")
_UTF8_QUOTED_PRINTABLE.body_encoding = QP
_MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF


def to_mime(email: Email, sender: str, gateway_url: str | None = None) -> Message:
    """`gateway_url`: the gateway's public address; with it, an email that carries its
    recipient's stop (`Email.stop_query`) gets RFC 8058's one-click List-Unsubscribe headers."""
    if not email.to:
        raise NotifierRejected("email has no recipient")
    text = _part(email.text, "plain")
    if email.html is None:
        message = text
    else:
        message = MIMEMultipart("alternative")
        message.attach(text)
        message.attach(_part(email.html, "html"))
    message["From"] = _addresses("From", [sender])
    message["To"] = _addresses("To", email.to)
    message["Subject"] = _text("Subject", email.subject)
    message["Message-ID"] = _text("Message-ID", email.message_id)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    if gateway_url and email.stop_query:
        # a mail client POSTs "List-Unsubscribe=One-Click" to it (RFC 8058 3.1); the link in
        # the body stays for the clients that show no button
        url = one_click_url(gateway_url, email.stop_query)
        message["List-Unsubscribe"] = _text("List-Unsubscribe", f"<{url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _part(body: str, subtype: str) -> MIMEText:
    """7-bit as it is when ASCII in lines SMTP carries (998 characters), else quoted-printable
    UTF-8 (which wraps lines): readable in the outbox's files either way."""
    if body.isascii() and max(map(len, body.splitlines()), default=0) <= _MAX_LINE:
        return MIMEText(body, subtype, "us-ascii")
    return MIMEText(body, subtype, _UTF8_QUOTED_PRINTABLE)


def _text(name: str, value: str) -> str | Header:
    if "\r" in value or "\n" in value:
        raise NotifierRejected(f"{name}: a header value may not contain a line break")
    # a Header is encoded and folded by the generator, knowing the header's name
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _addresses(name: str, values) -> str:
    for value in values:
        _text(name, value)
    formatted = []
    for display_name, address in getaddresses(list(values)):
        if not address or not address.isascii():
            raise NotifierRejected(f"{name}: {'an empty' if not address else 'a non-ASCII'} address")
        formatted.append(formataddr((display_name, address), charset="utf-8"))
    if not formatted:
        raise NotifierRejected(f"{name}: no address")
    return ", ".join(formatted)
