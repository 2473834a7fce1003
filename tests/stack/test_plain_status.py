"""`up` when its output is not a terminal: one plain status line at a time, and at the start the
demo people a developer can act as (keys only on the local chain)."""

from types import SimpleNamespace

from services.ingest.simulator import make_fleet
from services.stack import demo_people
from services.stack.demo_accounts import demo_accounts, spare_pairing_code, spare_wearable
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.settings import StackSettings
from services.stack.status_board import Status, StatusBoard


def _state(name, phase, restarts=0, running=True):
    return SimpleNamespace(spec=SimpleNamespace(name=name), phase=phase, restarts=restarts,
                           running=running)


def test_status_line__components_counters_and_chain_on_one_line():
    states = [_state("gateway", "running"), _state("peers", "restarting", restarts=2),
              _state("listeners", "running"), _state("onboarding", "done", running=False)]
    supervisor = SimpleNamespace(children={state.spec.name: state for state in states})
    board = StatusBoard(supervisor, 1.0, None)
    board.status = Status(health={"gateway": True, "listeners": False},
                          counters={"readings": 1234, "windows": 120, "predictions": 118,
                                    "alerts": 1},
                          readings_per_s=4.04, chain_events=17, head=345)

    line = board.line(3725.9)

    assert "\n" not in line
    assert line.startswith("status +01:02:05 | ")
    assert ("gateway running, peers restarting (2 restarts), listeners running (down), "
            "onboarding done") in line
    assert line.endswith("readings 1234 (4.0/s), windows 120, predictions 118, alerts 1, "
                         "on-chain events 17 (head 345)")


def test_demo_accounts__local_chain__every_person_with_an_importable_key():
    settings = StackSettings(simulate_users=2, simulate_irregular_users=1)
    accounts = demo_accounts(settings, True, "http://127.0.0.1:5173")

    assert [a.who for a in accounts] == ["patient 0", "patient 1", "doctor", "requester"]
    patients = demo_people.patients(settings.demo_seed, 2)
    assert accounts[0].address == patients[0].account.address
    assert accounts[0].key == patients[0].account.key.to_0x_hex()
    assert "irregular rhythm" in accounts[0].note and "regular rhythm" in accounts[1].note
    assert f"/#/patients/{patients[0].account.address}" in accounts[0].note
    assert accounts[3].address == dev_account(REQUESTER_INDEX).address


def test_demo_accounts__other_chain__no_keys_and_only_who_was_started():
    settings = StackSettings(simulate=False)
    accounts = demo_accounts(settings, False, "https://dapp.example")
    assert [a.who for a in accounts] == ["requester"]
    assert all(a.key is None for a in accounts)


def test_spare_wearable__the_simulators_next_device__only_when_wearables_stream():
    settings = StackSettings(simulate_users=3)
    assert spare_wearable(settings) == make_fleet(4, 0.0, settings.demo_seed)[-1].user_id
    assert spare_wearable(settings) not in {d.user_id for d in make_fleet(3, 0.0, settings.demo_seed)}
    assert spare_wearable(StackSettings(peers=False)) is None


def test_spare_wearable__its_printed_code_is_the_devices_consent_for_a_week():
    """`up` prints the spare wearable's pairing link with the code its screen would show: the
    gateway's check takes it for that device only, and not once it has expired."""
    from services.ingest.pairing import check_code
    from services.stack import demo_people

    settings = StackSettings(simulate_users=3)
    device = demo_people.device(settings.demo_seed, settings.simulate_users)
    assert device.user_id == spare_wearable(settings)
    now, week, month = 1_800_000_000_000, 7 * 86_400_000, 30 * 86_400_000
    code = spare_pairing_code(settings, now)
    assert check_code(code, device.user_id, device.public_bytes, now, month) is None
    assert "expired" in check_code(code, device.user_id, device.public_bytes, now + week, month)
    other = demo_people.device(settings.demo_seed, 0)
    assert "not signed" in check_code(code, other.user_id, other.public_bytes, now, month)


def test_spare_wearable__sends_nothing_until_paired__then_streams(tmp_path, monkeypatch):
    """The `spare` actor against a real SQLite store and local queue: silent while unpaired (its
    readings would only be dead-lettered), streaming once the device is registered."""
    import base64
    import os
    import threading
    import time

    from services.ingest.queues.local import LocalQueue
    from services.records import RecordsSettings, open_store
    from services.stack.actors import DemoSettings, spare

    monkeypatch.setenv("PULSELEDGER_RECORDS_SQLITE_DIR", str(tmp_path / "records"))
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY_FILE", "")
    monkeypatch.delenv("PULSELEDGER_INGEST_QUEUE_PATH", raising=False)
    settings = DemoSettings(users=2, seconds=2, peers_dir=tmp_path / "peers")
    peer = spare_wearable(StackSettings(simulate_users=2, demo_seed=settings.seed))
    actor = threading.Thread(target=spare, args=(settings,), daemon=True)
    actor.start()
    time.sleep(1.5)  # the actor is polling the store by now; nothing may be queued yet
    queue_path = tmp_path / "peers" / "queue.db"
    assert not queue_path.exists() or LocalQueue(queue_path).depth() == 0

    with open_store(RecordsSettings()) as store:
        store.register_device(peer, "0x" + "ab" * 20, os.urandom(32))
    actor.join(timeout=30)

    assert not actor.is_alive()
    assert LocalQueue(queue_path).depth() == 2  # one signed reading a second, for `seconds`
