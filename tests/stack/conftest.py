"""`pulseledger up` runs in a subprocess with its own state directory and free ports."""

import os
import shutil
import subprocess
import sys

import pytest

from services.stack.anvil import free_port


def _path_without_virtualenv() -> str:
    """`up` must work started by its full path, with no virtualenv on PATH (as a unit starts it):
    every test here runs it that way."""
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if ".venv" not in d)


def up_env(state_dir, port, **extra):
    return dict(os.environ, PATH=_path_without_virtualenv(), PULSELEDGER_STACK_STATE_DIR=str(state_dir),
                PULSELEDGER_STACK_CHAIN_PORT=str(port), PULSELEDGER_STACK_GATEWAY_PORT="0",
                PULSELEDGER_STACK_DAPP_PORT="0", PULSELEDGER_STACK_PROXY_PORT="0",
                PULSELEDGER_STACK_LISTENERS_PORT="0", PULSELEDGER_STACK_PEERS_PORT="0",
                PULSELEDGER_STACK_DEVICES_PORT="0",
                PULSELEDGER_STACK_STATE_INTERVAL_S="1", COLUMNS="200", **extra)


def run_up(state_dir, port, **extra):
    return subprocess.run([sys.executable, "-m", "services", "up", "--once"],
                          env=up_env(state_dir, port, **extra), capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.fixture(scope="session")
def deployed_state(tmp_path_factory):
    """One first run (deploys); tests copy its state directory instead of deploying again."""
    state_dir = tmp_path_factory.mktemp("deployed") / "state"
    port = free_port()
    first = run_up(state_dir, port)
    assert first.returncode == 0, first.stdout + first.stderr
    return state_dir, port, first


@pytest.fixture
def copy_of_deployed(deployed_state, tmp_path):
    source, port, _ = deployed_state
    target = tmp_path / "state"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs"))
    return target, port
