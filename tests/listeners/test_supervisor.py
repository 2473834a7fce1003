"""The node disappears (a proxy in front of anvil drops every connection): the daemon gives up
after node_down_after_s with exit 75, the supervisor restarts it with backoff until the node is
back, nothing is lost, and SIGTERM to the supervisor stops both cleanly."""

import json
import signal
import subprocess
import sys
import time

from pulseledger_testkit.fault_proxy import FaultProxy

from services.notify import message_id_for

from .test_kill9 import HARNESS, REPO, daemon_env, wait_caught_up


def test_supervisor__node_gone_then_back__restarted_and_caught_up(ledger, anvil, smtp_server,
                                                                  tmp_path):
    proxy = FaultProxy(anvil.url).start()
    contacts_file = tmp_path / "contacts.json"
    contacts_file.write_text(json.dumps(ledger.contacts()))
    env = daemon_env(ledger, anvil, smtp_server, tmp_path / "state")
    env.update({"PULSELEDGER_CHAIN_RPC_URL": proxy.url,
                "PULSELEDGER_LISTENERS_NODE_DOWN_AFTER_S": "0.3",
                "PULSELEDGER_LISTENERS_RPC_RETRY_INITIAL_S": "0.05",
                "PULSELEDGER_LISTENERS_RESTART_INITIAL_S": "0.1",
                "PULSELEDGER_LISTENERS_RESTART_MAX_S": "0.4"})
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "wb") as log_file:
        supervisor = subprocess.Popen(
            [sys.executable, str(HARNESS), "supervise", "relay", str(contacts_file)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            state_file = tmp_path / "state" / "relay.sqlite"
            c = ledger.contract.functions
            ledger.transact(c.requestConsent(ledger.patients[0], 1, 1, 2**39), ledger.requesters[0])
            anvil.mine(3)
            wait_caught_up(state_file, ledger.w3.eth.block_number - 3)

            proxy.down = True  # the node disappears
            ledger.transact(c.requestConsent(ledger.patients[1], 1, 1, 2**39), ledger.requesters[1])
            anvil.mine(3)
            deadline = time.monotonic() + 30
            while b"restart 2" not in log_path.read_bytes():
                assert time.monotonic() < deadline, "the supervisor never restarted the daemon"
                assert supervisor.poll() is None, "the supervisor died with the daemon"
                time.sleep(0.05)
            proxy.down = False  # the node is back
            wait_caught_up(state_file, ledger.w3.eth.block_number - 3)
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=20) == 0
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait()
            proxy.stop()
    assert b"exited with 75" in log_path.read_bytes()
    assert smtp_server.message_id_counts() == {
        message_id_for(key): 1 for key in ledger.emailing_keys()}
