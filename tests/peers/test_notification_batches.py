"""A notification batch hands its emails over together and marks them in the ledger in one
transaction (one sync to disk per batch, not per email: an alert burst of ~1,000 patients made
~2,000 syncs that every durable commit on the machine waited behind). A batch the mail system
fails part-way marks nothing and undoes its users' state: the retry sends every email, each with
its Message-ID, so a receiver sees a resent email, never a lost one.

The role is called directly (its handle, on a worker thread as the peer runs it) with a real
record store and outbox folder; delivery over libp2p is test_notification_history.py's subject."""

from __future__ import annotations

import pytest
import trio

from services.ingest.simulator import make_fleet, onboard
from services.notify import NotifierUnavailable
from services.notify.outbox import OutboxNotifier
from services.peers.backends import open_alert_tracker
from services.peers.messages.windows import NotifyRequest
from services.peers.roles.notification import NotificationRole

from .helpers import open_test_store, peer_settings
from .test_notification_history import RECIPIENTS, store_window


class Registry:
    """What the role needs of an RPC endpoint: a place to register its handler."""

    def register(self, op, handler) -> None:
        self.handler = handler


SENDER = "PulseLedger <noreply@pulseledger.test>"


def role_for(tmp_path, store, notifier) -> NotificationRole:
    settings = peer_settings(tmp_path, "n1", ["notification"])
    return NotificationRole(settings=settings, rpc=Registry(), store=store, notifier=notifier,
                            tracker=open_alert_tracker(settings))


def ledger_keys(role: NotificationRole) -> set[str]:
    return {key for (key,) in role.ledger._db.execute("SELECT key FROM sent")}


@pytest.fixture
def setup(tmp_path):
    store = open_test_store(tmp_path)
    fleet = make_fleet(3, irregular_fraction=1.0, seed="notification-batches")
    onboard(fleet, store)
    items = [store_window(store, device.user_id, 0, "irregular") for device in fleet]
    return (lambda notifier: role_for(tmp_path, store, notifier)), items, tmp_path / "outbox"


def test_a_batch__every_email_in_the_outbox__the_ledger_marks_them_all__a_redelivery_sends_none(setup):
    role_with, items, outbox = setup
    role = role_with(OutboxNotifier(outbox, SENDER))
    reply = trio.run(role.handle, NotifyRequest(items), "caller")
    assert reply.sent == len(items) * RECIPIENTS
    assert len(list(outbox.glob("*.eml"))) == len(items) * RECIPIENTS
    assert not list(outbox.glob("*.tmp"))
    assert len(ledger_keys(role)) == len(items) * RECIPIENTS
    again = trio.run(role.handle, NotifyRequest(items), "caller")
    assert again.sent == reply.sent  # nothing new sent


def test_the_mail_system_fails__nothing_marked__the_retry_sends_every_email(setup, tmp_path):
    role_with, items, outbox = setup
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    role = role_with(OutboxNotifier(blocked, SENDER))
    with pytest.raises(NotifierUnavailable):
        trio.run(role.handle, NotifyRequest(items), "caller")
    assert ledger_keys(role) == set()
    role.notifier = OutboxNotifier(outbox, SENDER)
    reply = trio.run(role.handle, NotifyRequest(items), "caller")  # the caller's retry
    assert reply.sent == len(items) * RECIPIENTS  # the failed batch's state was undone
    assert len(list(outbox.glob("*.eml"))) == len(items) * RECIPIENTS
    assert len(ledger_keys(role)) == len(items) * RECIPIENTS


def test_a_patient_nobody_to_tell__dead_lettered_once_with_its_reason__the_others_emailed(tmp_path):
    store = open_test_store(tmp_path)
    fleet = make_fleet(3, irregular_fraction=1.0, seed="notification-nobody")
    onboard(fleet[:2], store)
    onboard(fleet[2:], store, contacts=False)
    items = [store_window(store, device.user_id, 0, "irregular") for device in fleet]
    role = role_for(tmp_path, store, OutboxNotifier(tmp_path / "outbox", SENDER))
    for _ in range(2):  # the batch, then its redelivery
        trio.run(role.handle, NotifyRequest(items), "caller")
    letters = store.dead_letters("alert")
    assert [letter.reason for letter in letters] == [
        "rejected: no contact address for the patient or a doctor"]
    assert fleet[2].user_id in letters[0].payload.decode()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2 * RECIPIENTS
