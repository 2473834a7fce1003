"""/healthz and /metrics of a running daemon (real HTTP on 127.0.0.1)."""

import threading

import requests
from pulseledger_testkit.flows import Flow

from .harness import build_daemon, smtp_notifier


def test_status__healthz_and_metrics_reflect_the_daemon(pulse, anvil, pulse_contacts, smtp_server,
                                                        tmp_path):
    daemon = build_daemon("all", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    port = daemon.serve_status(0)
    url = f"http://127.0.0.1:{port}"
    before = requests.get(f"{url}/healthz", timeout=5)
    assert before.status_code == 503  # no successful poll yet
    Flow(pulse).request(pulse.patients[0], pulse.requesters[0])
    anvil.mine(3)
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        relay = daemon.units[0]
        for _ in range(1000):  # until a whole step went through with the email committed
            if relay.deliverer.outcomes["sent"] == 1 and daemon.last_good_poll is not None:
                break
            daemon.stop.wait(0.01)
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["daemons"]["relay"]["cursor_block"] == pulse.w3.eth.block_number - 3
        assert body["daemons"]["updater"]["lag_blocks"] == 3
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'pulseledger_listener_emails_total{daemon="relay",outcome="sent"} 1.0' in metrics
        assert 'pulseledger_listener_effects{daemon="relay",status="sent"} 1.0' in metrics
        assert "@" not in metrics  # no email addresses
        assert requests.get(f"{url}/other", timeout=5).status_code == 404
    finally:
        daemon.stop.set()
        runner.join(timeout=10)
        daemon.close()
