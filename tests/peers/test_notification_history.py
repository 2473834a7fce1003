"""The notification peer's episode state survives a kill -9 (it is on disk, written before a batch
is acknowledged), is idempotent on (user, window), and a notification peer new to a user rebuilds
it from the predictions stored in the user's window records. Each notice goes to each recipient
(the patient's contact, their doctor) as its own email.

The predictions are sent over real libp2p RPC by a peer of the test's own, so each window's
verdict is chosen by the test (the real predictor's verdict on simulated data is not the subject)."""

from __future__ import annotations

import email
import email.policy
import re
import signal
import time
from dataclasses import asdict
from urllib.parse import parse_qs, urlsplit

import pytest
import trio
from pulseledger_testkit.admission import install_test_operator

from services.alerts import AlertSettings, EpisodeTracker, Window
from services.ingest.simulator import make_fleet, onboard
from services.notify.stop_links import token_matches
from services.peers.alert_history import AlertHistory
from services.peers.messages.windows import NOTIFY, NotifyRequest
from services.peers.node import NoPeerForRole, PeerNode
from services.peers.notification_ledger import NotificationLedger
from services.peers.peer_processes import PeerSpec, PeerSupervisor, addr_dir
from services.peers.rpc import PeerUnavailable, RemoteError
from services.predict import Prediction
from services.records.window_payload import sample_payload

from .cluster import cluster_env
from .helpers import FAST, open_test_store, peer_settings

START = 1_700_000_000_000
WINDOW_MS = 10_000


def prediction(status: str) -> dict:
    return asdict(Prediction(status, 0.9 if status == "irregular" else 0.1, "rr",
                             "0" * 64, "0" * 64))


K3_OF_4 = AlertSettings(k=3, n=4)
RECIPIENTS = 2  # onboard(): the patient's contact and their doctor


def alert_emails(outbox, window_start_ms: int) -> list[email.message.Message]:
    """The "irregular rhythm noticed" emails in the outbox for the window that started an episode
    (their link opens the patient's page at that window)."""
    found = []
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        if "irregular rhythm noticed" in message["Subject"] and f"at={window_start_ms}" in text:
            found.append(message)
    return found


def outbox_has_alert(outbox, window_start_ms: int) -> bool:
    """One email per recipient, each to one address."""
    emails = alert_emails(outbox, window_start_ms) if outbox.is_dir() else []
    return len(emails) == RECIPIENTS and len({m["To"] for m in emails}) == RECIPIENTS


async def alert_delivered(outbox, window_start_ms: int, timeout_s: float = 30.0) -> bool:
    """The peer's sender hands queued emails over after the batch was acknowledged: wait."""
    with trio.move_on_after(timeout_s):
        while not outbox_has_alert(outbox, window_start_ms):
            await trio.sleep(0.05)
    return outbox_has_alert(outbox, window_start_ms)


async def notify(caller: PeerNode, device: str, index: int, status: str,
                 timeout_s: float = 60.0) -> None:
    """Store the window, then deliver its prediction as an aggregator does; retry until
    acknowledged (notification alerts only for stored windows, judged as stored)."""
    item = store_window(caller.store, device, index, status)
    with trio.fail_after(timeout_s):
        while True:
            try:
                await caller.call_role_by_key("notification", NOTIFY, [item],
                                              key=lambda i: i["device_id"], request=NotifyRequest)
                return
            except (NoPeerForRole, PeerUnavailable, RemoteError):  # not up yet: retry, as
                # aggregators do (a window not acknowledged stays `closing` and is sent again)
                await trio.sleep(0.2)


def store_window(store, device: str, index: int, status: str) -> dict:
    """The window as storage would have stored it; the item an aggregator then sends."""
    start = START + index * WINDOW_MS
    store.put_window(store.get_device(device).owner, device, start,
                     sample_payload(index, device_id=device, window_start_ms=start, status=status))
    return {"device_id": device, "window_start_ms": start, "prediction": prediction(status)}


def test_history__saved_and_loaded__the_tracker_resumes_without_repeating(tmp_path):
    tracker = EpisodeTracker(AlertSettings(k=2, n=3))
    assert tracker.observe("u1", Window(10, "irregular")) == []
    assert tracker.observe("u1", Window(20, "regular")) == []
    ledger = NotificationLedger(tmp_path / "ledger.db")  # as a batch saves it, with its emails
    ledger.queue({}, [], {"u1": tracker.export("u1")})
    ledger.queue({}, [], {"u1": tracker.export("u1")})  # the same batch again

    reopened = EpisodeTracker(AlertSettings(k=2, n=3))
    for user, state in AlertHistory(tmp_path / "ledger.db").load_all().items():
        reopened.restore(user, state)
    assert reopened.observe("u1", Window(20, "irregular")) == []  # a redelivery: already seen
    [started] = reopened.observe("u1", Window(30, "irregular"))  # 2 of (10, 20, 30)
    assert (started.kind, started.window_start_ms) == ("episode_started", 30)


def test_notification_peer_killed_between_windows__alerts_on_the_kth_irregular(tmp_path):
    """k = 3 of n = 4. Two irregular windows and a regular one reach the peer, it is killed -9 and
    restarted by the supervisor, the third irregular window must raise the alert. Catch-up from
    the record store is off here (and no window is stored there): only the peer's own history on
    disk can carry the first two windows across the restart."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed="notification-restart")
    onboard([device], store)
    outbox = tmp_path / "outbox"
    env = cluster_env({**FAST, "alert_catchup_ms": 0}, alerts={"k": 3, "n": 4})
    install_test_operator(tmp_path)
    supervisor = PeerSupervisor(tmp_path, [PeerSpec("n1", ("notification",))], env,
                            log_dir=tmp_path / "logs")
    try:
        supervisor.start(timeout_s=120)
        assert supervisor.wait_ready(120), "notification peer did not start"
        first_pid = supervisor.pid("n1")

        async def main():
            bootstrap = (addr_dir(tmp_path) / "n1.addr").read_text().strip()
            caller = PeerNode(peer_settings(tmp_path, "caller", [], granted=["aggregation"],
                                            bootstrap=[bootstrap]), store=store)
            async with trio.open_nursery() as nursery:
                await nursery.start(caller.run)
                # the restarted peer bootstraps from the addresses in data_dir/addrs
                (addr_dir(tmp_path) / "caller.addr").write_text(caller.address)
                await notify(caller, device.user_id, 0, "irregular")
                await notify(caller, device.user_id, 1, "regular")
                await notify(caller, device.user_id, 2, "irregular")
                assert not list(outbox.glob("*.eml"))  # 2 of 3 so far

                def kill_and_wait() -> None:
                    (addr_dir(tmp_path) / "n1.addr").unlink()
                    supervisor.kill("n1", signal.SIGKILL)
                    deadline = time.monotonic() + 120
                    while not (addr_dir(tmp_path) / "n1.addr").exists():
                        assert time.monotonic() < deadline, "n1 did not come back"
                        supervisor.poll()
                        time.sleep(0.05)

                await trio.to_thread.run_sync(kill_and_wait)
                assert supervisor.pid("n1") != first_pid
                await notify(caller, device.user_id, 2, "irregular")  # a retry: changes nothing
                assert not list(outbox.glob("*.eml"))
                await notify(caller, device.user_id, 3, "irregular")
                assert await alert_delivered(outbox, START + 3 * WINDOW_MS)
                nursery.cancel_scope.cancel()

        trio.run(main)
        assert supervisor.children["n1"].restarts == 1
        assert outbox_has_alert(outbox, START + 3 * WINDOW_MS)
        assert len(list(outbox.glob("*.eml"))) == RECIPIENTS
    finally:
        supervisor.stop()
        store.close()


@pytest.mark.parametrize("case", ["new owner", "hole"])
def test_notification_owner__rebuilds_history_from_stored_predictions(tmp_path, case):
    """k = 3 of n = 4; windows 0-2 are irregular, regular, irregular; window 3 is irregular.
    "new owner": a notification peer that has never seen the user (the previous owner died) gets
    window 3, windows 0-2 are only in the record store. "hole": it saw window 0 itself, then
    windows 1-2 went to another peer (it was presumed dead) and are only in the record store.
    Either way it replays what it missed without alerting for it, and alerts on window 3."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed=f"notification-catchup-{case}")
    onboard([device], store)
    for index, status in enumerate(["irregular", "regular", "irregular"]):
        start = START + index * WINDOW_MS
        store.put_window(device.owner, device.user_id, start,
                         sample_payload(index, device_id=device.user_id, window_start_ms=start,
                                        status=status))
    fresh = tmp_path / "owner"  # its own ledger and outbox

    async def main():
        async with trio.open_nursery() as nursery:
            owner = PeerNode(peer_settings(fresh, "n2", ["notification"], alerts=K3_OF_4),
                             store=store)
            await nursery.start(owner.run)
            caller = PeerNode(peer_settings(tmp_path, "caller", [], granted=["aggregation"],
                                            bootstrap=[owner.address]), store=store)
            await nursery.start(caller.run)
            if case == "hole":
                await notify(caller, device.user_id, 0, "irregular")
            await notify(caller, device.user_id, 3, "irregular")
            assert await alert_delivered(fresh / "outbox", START + 3 * WINDOW_MS)
            nursery.cancel_scope.cancel()
        return owner.roles["notification"].replayed

    assert trio.run(main) == (3 if case == "new owner" else 2)
    emails = list((fresh / "outbox").glob("*.eml"))
    assert len(emails) == RECIPIENTS and outbox_has_alert(fresh / "outbox", START + 3 * WINDOW_MS)
    for message in alert_emails(fresh / "outbox", START + 3 * WINDOW_MS):
        assert_stop_link(message, store, device.owner)
    store.close()


def assert_stop_link(message, store, owner: str) -> None:
    """Each alert email ends with its recipient's own link to stop them, which the gateway
    honours (services/notify/stop_links.py): for this patient and this address only."""
    (link,) = re.findall(r"https?://\S+/stop-emails\?\S+",
                         message.get_body(("plain",)).get_content())
    query = parse_qs(urlsplit(link).fragment.split("?", 1)[1])
    assert query["owner"] == [owner.lower()] and query["email"] == [message["To"]]
    assert token_matches(store, owner, message["To"], query["token"][0])
    assert not token_matches(store, owner, "someone@else.example", query["token"][0])


def test_notifier_down__batch_acknowledged__the_alert_goes_once_the_outbox_is_back(tmp_path):
    """The outbox cannot be written (NotifierUnavailable): the batch is acknowledged all the
    same (its emails wait on disk with the episode state), so the aggregator's closing goes on;
    the peer's sender retries, and the alert goes out once the outbox is back."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed="notification-retry")
    onboard([device], store)
    peer_dir = tmp_path / "n1"
    peer_dir.mkdir()
    (peer_dir / "outbox").write_text("a file where the outbox folder should be")
    item = store_window(store, device.user_id, 0, "irregular")

    async def main():
        async with trio.open_nursery() as nursery:
            owner = PeerNode(peer_settings(peer_dir, "n1", ["notification"],
                                           notify_retry_min_s=0.05, notify_retry_max_s=0.2),
                             store=store)
            await nursery.start(owner.run)
            caller = PeerNode(peer_settings(tmp_path, "caller", [], granted=["aggregation"],
                                            bootstrap=[owner.address]), store=store)
            await nursery.start(caller.run)
            await wait_until_live(caller, "notification")
            reply = await caller.rpc.call(owner.peer_id, NOTIFY, NotifyRequest([item]))
            await trio.sleep(0.5)  # the sender tried, and waits
            waiting = owner.metrics()["notification_emails_pending"]
            (peer_dir / "outbox").unlink()  # the outbox is back
            delivered = await alert_delivered(peer_dir / "outbox", START)
            nursery.cancel_scope.cancel()
        return reply, waiting, delivered

    reply, waiting, delivered = trio.run(main)
    assert reply.sent == RECIPIENTS and waiting == RECIPIENTS and delivered
    store.close()


async def wait_until_live(node: PeerNode, role: str, timeout_s: float = 30.0) -> None:
    with trio.fail_after(timeout_s):
        while not node.membership.live(role):
            await trio.sleep(0.1)
