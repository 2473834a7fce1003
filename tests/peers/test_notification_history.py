"""The notification peer's k-of-n history survives a kill -9 (it is on disk, written before a batch
is acknowledged), is idempotent on (user, window), and a notification peer new to a user rebuilds
it from the predictions stored in the user's window records.

The predictions are sent over real libp2p RPC by a peer of the test's own, so each window's
verdict is chosen by the test (the real predictor's verdict on simulated data is not the subject)."""

from __future__ import annotations

import hashlib
import signal
import time
from dataclasses import asdict

import pytest
import trio
from pulseledger_testkit.admission import install_test_operator

from services.ingest.simulator import make_fleet, onboard
from services.notify import message_id_for
from services.peers.alert_history import AlertHistory
from services.peers.node import NoPeerForRole, PeerNode
from services.peers.rpc import PeerUnavailable, RemoteError
from services.peers.supervisor import PeerSpec, Supervisor, addr_dir
from services.predict import Prediction
from services.predict.alert_policy import KOfNAlertPolicy
from services.records.window_payload import sample_payload

from .cluster import cluster_env
from .helpers import FAST, open_test_store, peer_settings

START = 1_700_000_000_000
WINDOW_MS = 10_000


def prediction(status: str) -> dict:
    return asdict(Prediction(status, 0.9 if status == "irregular" else 0.1, "rr",
                             "0" * 64, "0" * 64))


def outbox_has_alert(outbox, device: str, window_start_ms: int) -> bool:
    name = hashlib.sha256(message_id_for(f"alert/{device}/{window_start_ms}").encode()).hexdigest()
    return (outbox / f"{name[:32]}.eml").exists()


async def notify(caller: PeerNode, device: str, index: int, status: str,
                 timeout_s: float = 60.0) -> None:
    """Store the window, then deliver its prediction as an aggregator does; retry until
    acknowledged (notification alerts only for stored windows, judged as stored)."""
    item = store_window(caller.store, device, index, status)
    with trio.fail_after(timeout_s):
        while True:
            try:
                await caller.call_role_by_key("notification", "notify.predictions", [item],
                                              key=lambda i: i["device_id"])
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


def test_history__saved_and_loaded__ordered_idempotent_per_user(tmp_path):
    history = AlertHistory(tmp_path / "ledger.db")
    history.save({"u1": (30, [(30, True), (10, True), (20, False)]), "u2": (5, [])})
    history.save({"u1": (30, [(10, True), (20, False), (30, True)])})  # the same batch again
    assert history.load("u1") == (30, [(10, True), (20, False), (30, True)])
    history.save({"u1": (40, [(40, False)])})  # an alert cleared the rest
    history.close()

    reopened = AlertHistory(tmp_path / "ledger.db")
    assert reopened.load_all() == {"u1": (40, [(40, False)]), "u2": (5, [])}
    policy = KOfNAlertPolicy(2, 3)
    for user, (last, recent) in reopened.load_all().items():
        policy.restore(user, last, recent)
    irregular = Prediction("irregular", 0.9, "rr", "", "")
    assert policy.observe("u1", 40, irregular) is None  # a redelivery: already seen
    assert policy.observe("u1", 50, irregular) is None  # 1 of (40 regular, 50)
    assert policy.observe("u1", 60, irregular) is not None


def test_notification_peer_killed_between_windows__alerts_on_the_kth_irregular(tmp_path):
    """k = 3 of n = 4. Two irregular windows and a regular one reach the peer, it is killed -9 and
    restarted by the supervisor, the third irregular window must raise the alert. Catch-up from
    the record store is off here (and no window is stored there): only the peer's own history on
    disk can carry the first two windows across the restart."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed="notification-restart")
    onboard([device], store)
    outbox = tmp_path / "outbox"
    env = cluster_env({**FAST, "alert_k": 3, "alert_n": 4, "alert_catchup_ms": 0})
    install_test_operator(tmp_path)
    supervisor = Supervisor(tmp_path, [PeerSpec("n1", ("notification",))], env,
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
                nursery.cancel_scope.cancel()

        trio.run(main)
        assert supervisor.children["n1"].restarts == 1
        assert outbox_has_alert(outbox, device.user_id, START + 3 * WINDOW_MS)
        assert len(list(outbox.glob("*.eml"))) == 1
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
            owner = PeerNode(peer_settings(fresh, "n2", ["notification"], alert_k=3, alert_n=4),
                             store=store)
            await nursery.start(owner.run)
            caller = PeerNode(peer_settings(tmp_path, "caller", [], granted=["aggregation"],
                                            bootstrap=[owner.address]), store=store)
            await nursery.start(caller.run)
            if case == "hole":
                await notify(caller, device.user_id, 0, "irregular")
            await notify(caller, device.user_id, 3, "irregular")
            nursery.cancel_scope.cancel()
        return owner.roles["notification"].replayed

    assert trio.run(main) == (3 if case == "new owner" else 2)
    emails = list((fresh / "outbox").glob("*.eml"))
    assert len(emails) == 1 and outbox_has_alert(fresh / "outbox", device.user_id,
                                                 START + 3 * WINDOW_MS)
    store.close()


def test_notifier_down__batch_not_acknowledged__the_retry_still_alerts(tmp_path):
    """The outbox cannot be written (NotifierUnavailable): the batch is refused, and the history
    it had advanced is undone, so the aggregator's retry meets the alert again and sends it."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed="notification-retry")
    onboard([device], store)
    peer_dir = tmp_path / "n1"
    peer_dir.mkdir()
    (peer_dir / "outbox").write_text("a file where the outbox folder should be")
    item = store_window(store, device.user_id, 0, "irregular")

    async def main():
        async with trio.open_nursery() as nursery:
            owner = PeerNode(peer_settings(peer_dir, "n1", ["notification"]), store=store)
            await nursery.start(owner.run)
            caller = PeerNode(peer_settings(tmp_path, "caller", [], granted=["aggregation"],
                                            bootstrap=[owner.address]), store=store)
            await nursery.start(caller.run)
            await wait_until_live(caller, "notification")
            refused = None
            try:
                await caller.rpc.call(owner.peer_id, "notify.predictions", {"items": [item]})
            except RemoteError as exc:
                refused = exc
            (peer_dir / "outbox").unlink()  # the outbox is back
            await caller.rpc.call(owner.peer_id, "notify.predictions", {"items": [item]})
            nursery.cancel_scope.cancel()
        return refused

    assert trio.run(main) is not None
    assert outbox_has_alert(peer_dir / "outbox", device.user_id, START)
    store.close()


async def wait_until_live(node: PeerNode, role: str, timeout_s: float = 30.0) -> None:
    with trio.fail_after(timeout_s):
        while not node.membership.live(role):
            await trio.sleep(0.1)
