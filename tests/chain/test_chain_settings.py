"""One chain settings block (PULSELEDGER_CHAIN_*) with the services' older names still accepted:
for each field the service's own setting wins when set, then the block's, then the service's
default. Settings only, read from a real environment (monkeypatched); no network."""

import pytest

from services.chain.settings import ChainSettings
from services.gateway.settings import GatewaySettings
from services.listeners.settings import ListenerSettings
from services.peers.settings import PeersSettings
from services.settings_check import problems

CHAIN_ENV = ("RPC_URL", "DEPLOYMENTS", "REQUEST_TIMEOUT_S", "CONFIRMATIONS")
GATEWAY_ENV = ("RPC_URL", "DEPLOYMENTS", "RPC_TIMEOUT_S", "CONFIRMATIONS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in CHAIN_ENV:
        monkeypatch.delenv(f"PULSELEDGER_CHAIN_{name}", raising=False)
    for name in GATEWAY_ENV:
        monkeypatch.delenv(f"PULSELEDGER_GATEWAY_{name}", raising=False)
    monkeypatch.delenv("PULSELEDGER_LISTENERS_CONFIRMATIONS", raising=False)
    monkeypatch.delenv("PULSELEDGER_PEERS_CHAIN_RPC_URL", raising=False)


def test_nothing_set__each_service_keeps_its_defaults():
    gateway, listeners = GatewaySettings().chain(), ChainSettings().for_service(
        ListenerSettings(), {"confirmations": "confirmations"})
    assert (gateway.rpc_url, str(gateway.deployments), gateway.request_timeout_s,
            gateway.confirmations) == ("http://127.0.0.1:8545", ".pulseledger/deployments.json",
                                       10.0, 1)
    assert listeners.confirmations == 3
    assert PeersSettings().chain().rpc_url == "http://127.0.0.1:8545"  # its own "" means none


def test_chain_block_set__every_service_reads_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSELEDGER_CHAIN_RPC_URL", "http://127.0.0.1:9545")
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(tmp_path / "d.json"))
    monkeypatch.setenv("PULSELEDGER_CHAIN_REQUEST_TIMEOUT_S", "4")
    monkeypatch.setenv("PULSELEDGER_CHAIN_CONFIRMATIONS", "6")
    gateway = GatewaySettings().chain()
    assert (gateway.rpc_url, gateway.deployments, gateway.request_timeout_s,
            gateway.confirmations) == ("http://127.0.0.1:9545", tmp_path / "d.json", 4.0, 6)
    listeners = ChainSettings().for_service(ListenerSettings(), {"confirmations": "confirmations"})
    assert listeners.confirmations == 6
    assert PeersSettings().chain().rpc_url == "http://127.0.0.1:9545"
    monkeypatch.setenv("PULSELEDGER_PEERS_CHAIN_RPC_URL", "")  # an empty line in an env file
    assert PeersSettings().chain().rpc_url == "http://127.0.0.1:9545"


def test_older_service_names_still_win(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSELEDGER_CHAIN_RPC_URL", "http://127.0.0.1:9545")
    monkeypatch.setenv("PULSELEDGER_CHAIN_CONFIRMATIONS", "6")
    monkeypatch.setenv("PULSELEDGER_GATEWAY_RPC_URL", "http://127.0.0.1:7545")
    monkeypatch.setenv("PULSELEDGER_GATEWAY_RPC_TIMEOUT_S", "3")
    monkeypatch.setenv("PULSELEDGER_LISTENERS_CONFIRMATIONS", "9")
    monkeypatch.setenv("PULSELEDGER_PEERS_CHAIN_RPC_URL", "http://127.0.0.1:6545")
    gateway = GatewaySettings().chain()
    assert (gateway.rpc_url, gateway.request_timeout_s, gateway.confirmations) == (
        "http://127.0.0.1:7545", 3.0, 6)
    assert GatewaySettings(confirmations=2).chain().confirmations == 2  # set in code wins too
    listeners = ChainSettings().for_service(ListenerSettings(), {"confirmations": "confirmations"})
    assert listeners.confirmations == 9
    assert PeersSettings().chain().rpc_url == "http://127.0.0.1:6545"


def test_check_settings_names_a_bad_chain_setting(monkeypatch):
    monkeypatch.setenv("PULSELEDGER_CHAIN_CONFIRMATIONS", "-1")
    for service in ("gateway", "listeners", "market", "peer"):
        assert any(line.startswith("PULSELEDGER_CHAIN_CONFIRMATIONS") for line in problems(service))
