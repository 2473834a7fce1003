"""The notification sender on a worker process of its own (notify_send_process;
services/peers/notification_sender.py): a real spawned worker that opens the ledger and the
notifier the settings name (here the outbox folder under the peer's data dir, or the one
PULSELEDGER_NOTIFY_OUTBOX_DIR names), driven by the role's run task as the peer starts it.

What it must keep of the thread sender (test_notification_batches.py): every queued email goes
once; a refusal is dead-lettered with its reason; an unavailable mail system holds the emails
and they go once it is back; and a worker that dies loses nothing."""

from __future__ import annotations

import os
import signal

import pytest
import trio

from services.notify import Email, message_id_for
from services.notify.outbox import OutboxNotifier
from services.peers.backends import open_alert_tracker
from services.peers.messages.windows import NotifyRequest
from services.peers.notification_sender import SenderProcess
from services.peers.roles.notification import NotificationRole

from .helpers import peer_settings
from .test_notification_batches import SENDER, Registry, emails_in, irregular_windows, ledger_keys
from .test_notification_history import RECIPIENTS


@pytest.fixture
def world(tmp_path):
    """irregular_windows' store and items, and where the outbox is."""
    return (*irregular_windows(tmp_path, "notification-sender"), tmp_path / "outbox")


def role_on_a_process(tmp_path, store, **overrides) -> NotificationRole:
    settings = peer_settings(tmp_path, "n1", ["notification"], notify_send_process=True,
                             notify_retry_min_s=0.05, notify_retry_max_s=0.1, **overrides)
    return NotificationRole(settings=settings, rpc=Registry(), store=store,
                            notifier=OutboxNotifier(tmp_path / "outbox", SENDER),
                            tracker=open_alert_tracker(settings),
                            sender_process=SenderProcess(settings.notify_ledger_path, settings))


def with_the_sender(role: NotificationRole, steps=None) -> None:
    """The role's sender task running as the peer starts it, while `steps` run, until no
    email is pending."""
    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(role.run)
            if steps is not None:
                await steps()
            with trio.fail_after(30):
                while ledger_keys(role, "pending"):
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_batch__handed_over_by_the_worker_process(world, tmp_path):
    store, items, outbox = world
    role = role_on_a_process(tmp_path, store)
    expected = len(items) * RECIPIENTS

    with_the_sender(role, lambda: role.handle(NotifyRequest(items), "caller"))
    assert role.sender_process.pid not in (None, os.getpid())
    assert emails_in(outbox) == expected and role.sent == expected
    assert len(ledger_keys(role)) == expected and role.metrics()["notification_emails_pending"] == 0


def test_a_refusal__dead_lettered_by_the_role_with_the_workers_reason(world, tmp_path):
    store, _, outbox = world
    role = role_on_a_process(tmp_path, store)
    nobody = Email(to=(), subject="s", text="t", html=None, message_id=message_id_for("x"))
    good = Email(to=("patient@example.org",), subject="s", text="t", html=None,
                 message_id=message_id_for("y"))
    role.ledger.queue({"alert/x": nobody, "alert/y": good}, [], {})

    with_the_sender(role)
    assert [letter.reason for letter in role.store.dead_letters("alert")] == [
        "rejected: email has no recipient"]
    assert emails_in(outbox) == 1 and ledger_keys(role) == {"alert/x", "alert/y"}


def test_the_mail_system_down__the_emails_wait__all_go_once_it_is_back(world, tmp_path,
                                                                       monkeypatch):
    store, items, _ = world
    blocked = tmp_path / "blocked-outbox"
    blocked.write_text("a file where the outbox folder should be")
    monkeypatch.setenv("PULSELEDGER_NOTIFY_OUTBOX_DIR", str(blocked))  # the worker's notifier
    role = role_on_a_process(tmp_path, store)
    expected = len(items) * RECIPIENTS

    async def steps():
        await role.handle(NotifyRequest(items), "caller")
        await trio.sleep(0.5)  # several tries, each NotifierUnavailable from the worker
        assert len(ledger_keys(role, "pending")) == expected and not ledger_keys(role)
        blocked.unlink()  # the folder can be made again: the mail system is back

    with_the_sender(role, steps)
    assert emails_in(blocked) == expected and role.sent == expected


def test_the_worker_killed__replaced__nothing_lost(world, tmp_path):
    store, items, outbox = world
    role = role_on_a_process(tmp_path, store)
    expected = len(items) * RECIPIENTS

    async def steps():
        with trio.fail_after(30):
            while role.sender_process.pid is None:  # started
                await trio.sleep(0.05)
        os.kill(role.sender_process.pid, signal.SIGKILL)
        await trio.sleep(0.5)
        await role.handle(NotifyRequest(items), "caller")

    with_the_sender(role, steps)
    assert role.metrics()["notification_sender_restarts"] == 1
    assert emails_in(outbox) == expected and len(ledger_keys(role)) == expected

