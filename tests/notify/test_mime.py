"""The rendered message: what a mail client reads back is what was sent, in any script, and a
header cannot be forged through a name."""

import email
import email.policy

import pytest

from services.notify.base import Email, NotifierRejected
from services.notify.mime import to_mime

NAME = "Zoë Müller-Łukasiewicz 心"
SENDER = f"{NAME} via PulseLedger <alerts@pulseledger.invalid>"


def _read_back(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_non_ascii_subject_names_and_bodies__read_back_exactly():
    subject = f"Irregular rhythm screen for {NAME}: " + "a long subject that folds " * 4
    sent = Email(to=("doctor@example.org", "patient@example.org"), subject=subject,
                 text=f"Dear {NAME},\nthe screen…\n", html=f"<p>Dear {NAME}</p>",
                 message_id="<m1@pulseledger.invalid>")
    parsed = _read_back(to_mime(sent, SENDER))
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == f"{NAME} via PulseLedger"
    assert parsed["From"].addresses[0].addr_spec == "alerts@pulseledger.invalid"
    assert [a.addr_spec for a in parsed["To"].addresses] == list(sent.to)
    assert parsed["Message-ID"] == sent.message_id
    assert parsed["Date"].datetime is not None
    assert parsed.get_body(("plain",)).get_content() == sent.text
    assert parsed.get_body(("html",)).get_content().strip() == sent.html
    assert message_is_7bit(to_mime(sent, SENDER).as_bytes())


def message_is_7bit(raw: bytes) -> bool:
    return raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\n"))


def test_text_only__single_part():
    parsed = _read_back(to_mime(Email(("a@example.org",), "s", "body", None, "<m2@x>"), SENDER))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "body"


@pytest.mark.parametrize("field", ["subject", "message_id", "sender", "to"])
def test_line_break_in_a_header__refused(field):
    values = {"subject": "s", "message_id": "<m@x>", "sender": SENDER, "to": "a@example.org"}
    values[field] += "\r\nBcc: everyone@example.org"
    sent = Email((values["to"],), values["subject"], "t", None, values["message_id"])
    with pytest.raises(NotifierRejected, match="line break"):
        to_mime(sent, values["sender"])


@pytest.mark.parametrize("to", [(), ("zoë@example.org",), ("",)])
def test_no_or_unsendable_recipient__refused(to):
    with pytest.raises(NotifierRejected):
        to_mime(Email(to, "s", "t", None, "<m@x>"), SENDER)


def test_long_ascii_line__wrapped_for_smtp_and_read_back_exactly():
    html = "<p>" + "x" * 3000 + "</p>"
    sent = Email(("a@example.org",), "s", "short", html, "<m3@x>")
    raw = to_mime(sent, SENDER).as_bytes()
    assert message_is_7bit(raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_body(("html",)).get_content().rstrip("\n") == html
