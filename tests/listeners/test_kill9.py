"""kill -9 the relay daemon (a real subprocess) at random points while events are produced.
After every restart the daemon catches up; at the end the handled (tx hash, log index) set equals
the chain's logs, every email arrived, and a Message-ID arrived twice only where the daemon itself
recorded that the kill fell inside the send window (the effect's in_doubt count)."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from services.notify import message_id_for

HARNESS = Path(__file__).with_name("run_daemon.py")
REPO = Path(__file__).resolve().parents[2]


def daemon_env(ledger, anvil, smtp_server, state_dir):
    env = dict(os.environ)
    env.update({
        "PULSELEDGER_CHAIN_RPC_URL": anvil.url,
        "PULSELEDGER_CHAIN_DEPLOYMENTS": str(ledger.deployments_file),
        "PULSELEDGER_CHAIN_REQUEST_TIMEOUT_S": "2",
        "PULSELEDGER_LISTENERS_STATE_DIR": str(state_dir),
        "PULSELEDGER_LISTENERS_CONFIRMATIONS": "3",
        "PULSELEDGER_LISTENERS_POLL_INTERVAL_S": "0.02",
        "PULSELEDGER_LISTENERS_RETRY_INITIAL_S": "0.05",
        "PULSELEDGER_LISTENERS_RETRY_MAX_S": "0.2",
        "PULSELEDGER_LISTENERS_MAX_ATTEMPTS": "1000",
        "PULSELEDGER_NOTIFY_BACKEND": "smtp",
        "PULSELEDGER_NOTIFY_SMTP_HOST": "127.0.0.1",
        "PULSELEDGER_NOTIFY_SMTP_PORT": str(smtp_server.port),
        "PULSELEDGER_NOTIFY_SMTP_TIMEOUT_S": "2",
    })
    return env


def spawn(env, contacts_file, log_file):
    return subprocess.Popen([sys.executable, str(HARNESS), "relay", str(contacts_file)], env=env,
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file)


def read_state(state_file):
    db = sqlite3.connect(f"file:{state_file}?mode=ro", uri=True, timeout=10)
    try:
        cursor = db.execute("SELECT block_number FROM cursor").fetchone()
        unsettled = db.execute("SELECT COUNT(*) FROM effects WHERE status IN "
                               "('pending', 'sending', 'held')").fetchone()[0]
        return (cursor[0] if cursor else None), unsettled
    finally:
        db.close()


def wait_caught_up(state_file, target_block, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if state_file.exists():
            try:
                cursor, unsettled = read_state(state_file)
            except sqlite3.OperationalError:  # the daemon is still creating its tables
                cursor, unsettled = None, None
            if cursor == target_block and unsettled == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"daemon did not catch up to block {target_block}")


def run_kill_matrix(kills, seed, ledger, anvil, smtp_server, tmp_path):
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    state_file = state_dir / "relay.sqlite"
    contacts_file = tmp_path / "contacts.json"
    contacts_file.write_text(json.dumps(ledger.contacts()))
    env = daemon_env(ledger, anvil, smtp_server, state_dir)
    stop = threading.Event()
    producer_rng = random.Random(seed + 1)

    def produce():
        while not stop.is_set():
            ledger.random_event(producer_rng)
            stop.wait(producer_rng.uniform(0.0, 0.03))

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    log_file = open(tmp_path / "daemon.log", "ab")  # noqa: SIM115 - closed below
    try:
        for _ in range(kills):
            process = spawn(env, contacts_file, log_file)
            started = time.monotonic()
            while not state_file.exists() and time.monotonic() - started < 10:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 1.2))  # a random point of its work
            process.send_signal(signal.SIGKILL)
            process.wait()
        stop.set()
        producer.join()
        anvil.mine(3)
        process = spawn(env, contacts_file, log_file)
        wait_caught_up(state_file, ledger.w3.eth.block_number - 3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, "no clean shutdown on SIGTERM"
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait()
        log_file.close()
    return state_file


@pytest.mark.parametrize("kills", [10, pytest.param(50, marks=pytest.mark.chaos)])
def test_kill9__handled_set_equals_chain_logs_and_every_email_arrived(kills, ledger, anvil,
                                                                      smtp_server, tmp_path):
    state_file = run_kill_matrix(kills, seed=kills, ledger=ledger, anvil=anvil,
                                 smtp_server=smtp_server, tmp_path=tmp_path)
    db = sqlite3.connect(state_file)
    handled = {(tx, index) for tx, index in db.execute("SELECT tx_hash, log_index FROM events")}
    in_doubt = dict(db.execute("SELECT key, in_doubt FROM effects"))
    statuses = {status for (status,) in db.execute("SELECT DISTINCT status FROM effects")}
    db.close()

    assert handled == ledger.log_keys()
    assert statuses == {"sent"}
    expected = {message_id_for(key): key for key in ledger.emailing_keys()}
    assert len(expected) > kills  # the run produced real traffic
    counts = smtp_server.message_id_counts()
    assert set(counts) == set(expected), "an email is missing or unexpected"
    duplicated = {mid: n for mid, n in counts.items() if n > 1}
    for message_id, count in duplicated.items():
        assert count - 1 <= in_doubt[expected[message_id]], "duplicate outside the send window"
    assert sum(count - 1 for count in duplicated.values()) <= kills
