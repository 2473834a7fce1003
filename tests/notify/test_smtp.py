"""SMTP backend against a real aiosmtpd server on 127.0.0.1."""

import pytest
from pulseledger_testkit.ports import free_port

from services.notify import (
    Email,
    NotifierRejected,
    NotifierUnavailable,
    NotifySettings,
    message_id_for,
    open_notifier,
)


def settings_for(port):
    return NotifySettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=2,
                          sender="PulseLedger <noreply@pulseledger.test>")


def make_email(key="k1", to=("patient@example.org",)):
    return Email(to=to, subject="Consent requested", text="A researcher asked for access.",
                 html="<p>A researcher asked for access.</p>", message_id=message_id_for(key))


def test_smtp__send__server_receives_message_with_our_message_id(smtp_server):
    notifier = open_notifier(settings_for(smtp_server.port))
    notifier.send(make_email("k1"))
    notifier.send(make_email("k2", to=("a@example.org", "b@example.org")))
    notifier.close()
    received = smtp_server.received
    assert [item.message_id for item in received] == [message_id_for("k1"), message_id_for("k2")]
    assert received[1].rcpt_tos == ["a@example.org", "b@example.org"]
    assert received[0].mail_from == "noreply@pulseledger.test"
    kinds = {part.get_content_type() for part in received[0].message.walk()}
    assert {"text/plain", "text/html"} <= kinds


def test_smtp__server_down__unavailable():
    notifier = open_notifier(settings_for(free_port()))
    with pytest.raises(NotifierUnavailable):
        notifier.send(make_email())


def test_smtp__server_restarted__connection_reopened(smtp_server):
    notifier = open_notifier(settings_for(smtp_server.port))
    notifier.send(make_email("k1"))
    smtp_server.stop()
    with pytest.raises(NotifierUnavailable):
        notifier.send(make_email("k2"))
    smtp_server.start()
    notifier.send(make_email("k2"))
    assert [item.message_id for item in smtp_server.received] == [message_id_for("k1"),
                                                                  message_id_for("k2")]


def test_smtp__deferred_4xx__unavailable(smtp_server):
    smtp_server.handler.refuse_with = "451 4.3.0 try again later"
    with pytest.raises(NotifierUnavailable):
        open_notifier(settings_for(smtp_server.port)).send(make_email())


def test_smtp__refused_5xx__rejected(smtp_server):
    smtp_server.handler.refuse_with = "554 5.7.1 message refused"
    with pytest.raises(NotifierRejected):
        open_notifier(settings_for(smtp_server.port)).send(make_email())


def test_smtp__send_many__each_refused_one_named_by_its_index(smtp_server):
    smtp_server.handler.refuse_with = "554 5.7.1 message refused"
    rejected = open_notifier(settings_for(smtp_server.port)).send_many(
        [make_email("k1"), make_email("k2")])
    assert sorted(rejected) == [0, 1]
    assert all(isinstance(error, NotifierRejected) for error in rejected.values())
