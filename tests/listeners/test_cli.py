"""`pulseledger listen` inspection commands against a real daemon's state."""

import json

from click.testing import CliRunner

from services.cli import main
from services.listeners.cli import listen

from .harness import build_daemon, smtp_notifier


def test_cli__listen_group_is_wired_into_pulseledger():
    result = CliRunner().invoke(main, ["listen", "--help"])
    assert result.exit_code == 0
    for command in ("relay", "updater", "all", "status", "dead-letters", "requeue", "incidents"):
        assert command in result.output


def test_cli__status_dead_letters_requeue(ledger, anvil, contacts, tmp_path, monkeypatch):
    from pulseledger_testkit.ports import free_port

    state = tmp_path / "state"
    daemon = build_daemon("relay", ledger, anvil.url, state, contacts, smtp_notifier(free_port()),
                          max_attempts=1)
    ledger.transact(ledger.contract.functions.requestConsent(ledger.patients[0], 1, 1, 2**39),
                    ledger.requesters[0])
    anvil.mine(3)
    daemon.step()
    daemon.close()
    monkeypatch.setenv("PULSELEDGER_LISTENERS_STATE_DIR", str(state))
    runner = CliRunner()
    status = json.loads(runner.invoke(listen, ["status", "relay"]).output)
    assert status["events"] == 1 and status["effects"] == {"dead": 1}
    assert status["cursor"]["block"] == ledger.w3.eth.block_number - 3
    [letter] = [json.loads(line) for line in
                runner.invoke(listen, ["dead-letters"]).output.splitlines()]
    assert letter["kind"] == "consent_requested" and "SMTP unreachable" in letter["error"]
    assert "@" not in json.dumps(letter)  # no email addresses in operator output
    assert "requeued 1" in runner.invoke(listen, ["requeue"]).output
    assert json.loads(runner.invoke(listen, ["status"]).output)["effects"] == {"pending": 1}


def test_cli__status_without_state__clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSELEDGER_LISTENERS_STATE_DIR", str(tmp_path / "none"))
    result = CliRunner().invoke(listen, ["status", "updater"])
    assert result.exit_code != 0 and "no state for the updater daemon" in result.output
