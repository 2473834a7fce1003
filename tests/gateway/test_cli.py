"""`pulseledger gateway` serves on 127.0.0.1 from environment settings alone; replicated without
an explicit session secret it refuses to start."""

import subprocess
import sys

import requests

from tests.gateway.chain_helpers import REPO
from tests.gateway.processes import GatewayProcess, gateway_env, new_master_key


def test_cli__serves_health_and_nonce(chain, gateway_account, tmp_path):
    gateway = GatewayProcess(gateway_env(chain, gateway_account, tmp_path / "records",
                                         new_master_key()))
    try:
        health = requests.get(gateway.wait_healthy().url + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["chain_id"] == chain.w3.eth.chain_id
        assert health.json()["shared_store"] == "memory"
        nonce = requests.get(f"{gateway.url}/auth/nonce", timeout=5).json()
        assert len(nonce["nonce"]) == 50
    finally:
        output = gateway.stop()
    assert gateway_account.key.to_0x_hex()[2:] not in output  # the key never reaches the logs


def test_cli__replicated_without_a_session_secret__refuses_to_start(chain, gateway_account,
                                                                     tmp_path, redis_server):
    env = gateway_env(chain, gateway_account, tmp_path / "records", new_master_key(),
                      shared_store_url=redis_server.url)
    result = subprocess.run([sys.executable, "-m", "services", "gateway", "--port", "1"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
                            check=False)
    assert result.returncode != 0
    assert "SESSION_SECRET must be set" in result.stderr
