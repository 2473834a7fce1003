"""`up` when its output is not a terminal: one plain status line at a time, and at the start the
demo people a developer can act as (keys only on the local chain)."""

from types import SimpleNamespace

from services.stack import demo_people
from services.stack.demo_accounts import demo_accounts
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.settings import StackSettings
from services.stack.status import Status, StatusBoard


def _state(name, phase, restarts=0, running=True):
    return SimpleNamespace(component=SimpleNamespace(name=name), phase=phase, restarts=restarts,
                           running=running)


def test_status_line__components_counters_and_chain_on_one_line():
    supervisor = SimpleNamespace(states=[_state("gateway", "running"),
                                         _state("peers", "restarting", restarts=2),
                                         _state("listeners", "running"),
                                         _state("onboarding", "done", running=False)])
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
