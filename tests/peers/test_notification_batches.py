"""A notification batch queues its emails with its users' episode state in one transaction and is
acknowledged; the sender hands them over afterwards, many at a time, and marks them sent in one
transaction. A mail system that is down holds up only the emails: the batch is still
acknowledged, nothing is marked sent, and once the mail system is back every email goes, each
with its Message-ID (a receiver sees a resent email, never a lost one). Queued emails survive a
restart of the peer.

The role is called directly (its handle, on a worker thread as the peer runs it; its sender, as
send_pending or its run task) with a real record store and outbox folder; delivery over libp2p
is test_notification_history.py's subject."""

from __future__ import annotations

import pytest
import trio

from services.ingest.simulator import make_fleet, onboard
from services.notify import Email, NotifierUnavailable, message_id_for
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


def role_for(tmp_path, store, notifier, **overrides) -> NotificationRole:
    settings = peer_settings(tmp_path, "n1", ["notification"], **overrides)
    return NotificationRole(settings=settings, rpc=Registry(), store=store, notifier=notifier,
                            tracker=open_alert_tracker(settings))


def ledger_keys(role: NotificationRole, table: str = "sent") -> set[str]:
    return {key for (key,) in role.ledger._db.execute(f"SELECT key FROM {table}")}


def emails_in(outbox) -> int:
    return len(list(outbox.glob("*.eml"))) if outbox.is_dir() else 0


def irregular_windows(tmp_path, seed: str) -> tuple:
    """A record store with three patients' irregular windows stored, and the windows' notify
    items."""
    store = open_test_store(tmp_path)
    fleet = make_fleet(3, irregular_fraction=1.0, seed=seed)
    onboard(fleet, store)
    return store, [store_window(store, device.user_id, 0, "irregular") for device in fleet]


@pytest.fixture
def setup(tmp_path):
    store, items = irregular_windows(tmp_path, "notification-batches")
    return ((lambda notifier, **overrides: role_for(tmp_path, store, notifier, **overrides)),
            items, tmp_path / "outbox")


def test_a_batch__queued__the_sender_hands_them_all_over__a_redelivery_queues_none(setup):
    role_with, items, outbox = setup
    role = role_with(OutboxNotifier(outbox, SENDER))
    expected = len(items) * RECIPIENTS
    reply = trio.run(role.handle, NotifyRequest(items), "caller")
    assert reply.sent == expected  # queued, on disk with the users' state
    assert len(ledger_keys(role, "pending")) == expected and emails_in(outbox) == 0
    assert role.send_pending() == expected  # one hand-over, one commit
    assert emails_in(outbox) == expected and not list(outbox.glob("*.tmp"))
    assert len(ledger_keys(role)) == expected and not ledger_keys(role, "pending")
    again = trio.run(role.handle, NotifyRequest(items), "caller")
    assert again.sent == reply.sent and role.send_pending() == 0  # nothing new
    assert emails_in(outbox) == expected


def test_the_mail_system_down__batch_acknowledged__emails_wait__all_sent_once_it_is_back(setup,
                                                                                       tmp_path):
    role_with, items, outbox = setup
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    role = role_with(OutboxNotifier(blocked, SENDER))
    expected = len(items) * RECIPIENTS
    assert trio.run(role.handle, NotifyRequest(items), "caller").sent == expected
    with pytest.raises(NotifierUnavailable):
        role.send_pending()
    assert ledger_keys(role) == set() and len(ledger_keys(role, "pending")) == expected
    role.notifier = OutboxNotifier(outbox, SENDER)
    assert role.send_pending() == expected
    assert emails_in(outbox) == expected
    assert len(ledger_keys(role)) == expected and not ledger_keys(role, "pending")


def test_queued_emails__survive_a_restart__the_next_peer_sends_them(setup):
    role_with, items, outbox = setup
    first = role_with(OutboxNotifier(outbox, SENDER))
    trio.run(first.handle, NotifyRequest(items), "caller")  # killed before its sender ran
    first.ledger._db.close()
    again = role_with(OutboxNotifier(outbox, SENDER))  # the same data dir: ledger and history
    assert again.send_pending() == len(items) * RECIPIENTS
    assert emails_in(outbox) == len(items) * RECIPIENTS
    assert trio.run(again.handle, NotifyRequest(items), "caller").sent == 0  # state came back


def test_the_sender_task__retries_while_down__delivers_once_back(setup, tmp_path):
    """The role's run task as the peer starts it: woken by a batch, backing off while the
    mail system is unavailable, delivering when it is back."""
    role_with, items, outbox = setup
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    role = role_with(OutboxNotifier(blocked, SENDER), notify_retry_min_s=0.02,
                     notify_retry_max_s=0.05)
    expected = len(items) * RECIPIENTS

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(role.run)
            await role.handle(NotifyRequest(items), "caller")
            await trio.sleep(0.3)  # several retries against the blocked outbox
            assert emails_in(outbox) == 0 and len(ledger_keys(role, "pending")) == expected
            role.notifier = OutboxNotifier(outbox, SENDER)
            with trio.fail_after(10):
                while ledger_keys(role, "pending"):
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert emails_in(outbox) == expected and role.sent == expected


def test_an_email_refused_for_good__dead_lettered_with_its_reason__the_rest_sent(setup):
    role_with, _, outbox = setup
    role = role_with(OutboxNotifier(outbox, SENDER))
    nobody = Email(to=(), subject="s", text="t", html=None, message_id=message_id_for("x"))
    good = Email(to=("patient@example.org",), subject="s", text="t", html=None,
                 message_id=message_id_for("y"))
    role.ledger.queue({"alert/x": nobody, "alert/y": good}, [], {})
    assert role.send_pending() == 2
    assert [letter.reason for letter in role.store.dead_letters("alert")] == [
        "rejected: email has no recipient"]
    assert emails_in(outbox) == 1 and ledger_keys(role) == {"alert/x", "alert/y"}


def test_a_patient_nobody_to_tell__dead_lettered_once_with_its_reason__the_others_emailed(tmp_path):
    store = open_test_store(tmp_path)
    fleet = make_fleet(3, irregular_fraction=1.0, seed="notification-nobody")
    onboard(fleet[:2], store)
    onboard(fleet[2:], store, contacts=False)
    items = [store_window(store, device.user_id, 0, "irregular") for device in fleet]
    role = role_for(tmp_path, store, OutboxNotifier(tmp_path / "outbox", SENDER))
    for _ in range(2):  # the batch, then its redelivery
        trio.run(role.handle, NotifyRequest(items), "caller")
    role.send_pending()
    letters = store.dead_letters("alert")
    assert [letter.reason for letter in letters] == [
        "rejected: no contact address for the patient or a doctor"]
    assert fleet[2].user_id in letters[0].payload.decode()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2 * RECIPIENTS


class FailsOnce(OutboxNotifier):
    """An outbox whose first hand-over fails with an error that is not the mail system's."""

    failed = False

    def send_many(self, emails):
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the sender")
        return super().send_many(emails)


def test_the_sender_task__an_unexpected_error__logged_retried_the_emails_still_go(setup, caplog):
    role_with, items, outbox = setup
    role = role_with(FailsOnce(outbox, SENDER), notify_retry_min_s=0.02, notify_retry_max_s=0.05)

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(role.run)
            await role.handle(NotifyRequest(items), "caller")
            with trio.fail_after(10):
                while ledger_keys(role, "pending"):
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert emails_in(outbox) == len(items) * RECIPIENTS
    assert "sending queued emails failed (RuntimeError)" in caplog.text
