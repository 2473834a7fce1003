"""`pulseledger gateway` serves on 127.0.0.1 from environment settings alone; replicated without
an explicit session secret it refuses to start."""

import requests
from click.testing import CliRunner

from services.gateway.cli import gateway
from tests.gateway.chain_helpers import free_port
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
                                                                     tmp_path, redis_server,
                                                                     monkeypatch):
    def serving(*_args, **_kwargs):
        raise AssertionError("started serving without a session secret")

    monkeypatch.setattr("services.gateway.serving.serve", serving)
    env = gateway_env(chain, gateway_account, tmp_path / "records", new_master_key(),
                      shared_store_url=redis_server.url)
    result = CliRunner().invoke(gateway, ["--port", str(free_port())], env=env)
    assert result.exit_code != 0
    assert "SESSION_SECRET must be set" in result.output
