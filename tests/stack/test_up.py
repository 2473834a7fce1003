"""`pulseledger up` on a real anvil: deploys once, and a restart reuses the chain and the contracts."""

import json
import os
import subprocess
import sys

import pytest

from services.stack.anvil import free_port


def run_up(state_dir, port):
    env = dict(os.environ, PULSELEDGER_STACK_STATE_DIR=str(state_dir),
               PULSELEDGER_STACK_CHAIN_PORT=str(port), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "services", "up", "--once"], env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


def test_up__first_run_then_restart__deploys_once_and_reuses(state_dir):
    port = free_port()
    first = run_up(state_dir, port)
    assert first.returncode == 0, first.stdout + first.stderr
    address = json.loads((state_dir / "deployments.json").read_text())["contracts"]["PulseLedger"]["address"]
    assert "deployed" in first.stdout and address in first.stdout
    assert (state_dir / "chain" / "anvil-state.json").exists()

    second = run_up(state_dir, port)

    assert second.returncode == 0, second.stdout + second.stderr
    assert "reused" in second.stdout and address in second.stdout
    again = json.loads((state_dir / "deployments.json").read_text())["contracts"]["PulseLedger"]["address"]
    assert again == address


def test_up__chain_state_lost__deploys_afresh(state_dir):
    port = free_port()
    assert run_up(state_dir, port).returncode == 0
    (state_dir / "chain" / "anvil-state.json").unlink()

    result = run_up(state_dir, port)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed" in result.stdout
