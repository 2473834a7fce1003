"""`pulseledger gateway` serves under gunicorn on 127.0.0.1 from environment settings alone."""

import base64
import os
import subprocess
import sys
import time

import requests

from tests.gateway.chain_helpers import REPO, free_port


def test_cli__gunicorn_serves_health_and_nonce(chain, gateway_account, tmp_path):
    port = free_port()
    env = {**os.environ,
           "PULSELEDGER_GATEWAY_RPC_URL": chain.url,
           "PULSELEDGER_GATEWAY_DEPLOYMENTS": str(chain.deployments),
           "PULSELEDGER_GATEWAY_GATEWAY_KEY": gateway_account.key.to_0x_hex(),
           "PULSELEDGER_RECORDS_SQLITE_DIR": str(tmp_path / "records"),
           "PULSELEDGER_RECORDS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
           "PULSELEDGER_RECORDS_MASTER_KEY_FILE": "",
           "PULSELEDGER_BLOBS_LOCAL_DIR": str(tmp_path / "blobs")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from services.gateway.cli import gateway; gateway()",
         "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        health = None
        for _ in range(300):
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                time.sleep(0.05)
        assert health is not None and health.status_code == 200
        assert health.json()["chain_id"] == chain.w3.eth.chain_id
        nonce = requests.get(f"http://127.0.0.1:{port}/auth/nonce", timeout=2).json()
        assert len(nonce["nonce"]) == 32
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    assert gateway_account.key.to_0x_hex()[2:] not in output  # the key never reaches the logs
