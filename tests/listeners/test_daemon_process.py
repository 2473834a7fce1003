"""The daemon process's contract with its supervisor: exit 0 on SIGTERM, 78 (not restarted) on a
configuration error, 75 (restarted) when the node is unreachable at start."""

import json
import signal
import subprocess
import sys

from pulseledger_testkit.ledger import onboard_contacts
from pulseledger_testkit.ports import free_port

from .test_kill9 import REPO, daemon_env, wait_ready


def run(env, which="all", timeout=60):
    return subprocess.run([sys.executable, "-m", "services.listeners.daemon", which], env=env,
                          cwd=REPO, capture_output=True, timeout=timeout, check=False)


def test_daemon__sigterm__both_daemons_stop_cleanly(pulse, anvil, smtp_server, tmp_path):
    onboard_contacts(pulse, tmp_path).close()
    env = daemon_env(pulse, anvil, smtp_server, tmp_path / "state", tmp_path)
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb", buffering=0) as log_file:
        process = subprocess.Popen([sys.executable, "-m", "services.listeners.daemon", "all"],
                                   env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            wait_ready(log_path, 1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert b"stopped cleanly" in log_path.read_bytes()
    assert (tmp_path / "state" / "relay.sqlite").exists()
    assert (tmp_path / "state" / "updater.sqlite").exists()


def test_daemon__deployments_of_another_chain__exit_78(pulse, anvil, smtp_server, tmp_path):
    document = json.loads(pulse.deployments_file.read_text())
    document["genesis_hash"] = "0x" + "11" * 32
    pulse.deployments_file.write_text(json.dumps(document))
    env = daemon_env(pulse, anvil, smtp_server, tmp_path / "state", tmp_path)
    result = run(env)
    assert result.returncode == 78
    assert b"another chain" in result.stderr


def test_daemon__no_deployments_file__exit_78(pulse, anvil, smtp_server, tmp_path):
    env = daemon_env(pulse, anvil, smtp_server, tmp_path / "state", tmp_path)
    env["PULSELEDGER_CHAIN_DEPLOYMENTS"] = str(tmp_path / "missing.json")
    result = run(env)
    assert result.returncode == 78
    assert b"no deployments file" in result.stderr


def test_daemon__node_unreachable_at_start__exit_75(pulse, anvil, smtp_server, tmp_path):
    env = daemon_env(pulse, anvil, smtp_server, tmp_path / "state", tmp_path)
    env["PULSELEDGER_CHAIN_RPC_URL"] = f"http://127.0.0.1:{free_port()}"
    assert run(env, "relay").returncode == 75
