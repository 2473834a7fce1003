"""The component builder `up` and the whole-story test share: which processes, wired how."""

import json
from unittest import mock

import pytest

from services.stack.components import ChainEndpoint, Ports, build_components
from services.stack.dev_accounts import GATEWAY_INDEX, dev_account
from services.stack.settings import StackSettings

PORTS = Ports(gateway=8600, dapp=5173, proxy=8645, listeners=8601, peers=8602, devices=8603)


@pytest.fixture
def deployments(tmp_path):
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({
        "network": "ethereum:devnet:x", "chain_id": 31337, "genesis_hash": "0x" + "ab" * 32,
        "deployment_block": 3, "deployer": "0x" + "11" * 20,
        "contracts": {"PulseLedger": {"address": "0x" + "22" * 20, "abi": "abi.json", "block": 3}}}))
    return path


def _build(tmp_path, deployments, local=True, **overrides):
    dist = tmp_path / "dist"
    dist.mkdir(exist_ok=True)
    (dist / "index.html").write_text("<div id=root></div>")
    settings = StackSettings(state_dir=tmp_path / "state", dapp_dist=dist, **overrides)
    chain = ChainEndpoint("http://127.0.0.1:8545", deployments, local)
    return {c.name: c for c in build_components(settings, chain, PORTS)}, settings


def test_defaults__every_part_of_the_system(tmp_path, deployments):
    components, _ = _build(tmp_path, deployments)
    assert list(components) == ["gateway", "peers", "devices", "listeners", "market", "dapp",
                                "onboarding", "wearables", "requester", "sale"]
    assert all(c.health_url for c in components.values() if not c.one_shot)
    peers = components["peers"].env
    assert peers["PULSELEDGER_PEERS_LEDGER_ADDRESS"] == "0x" + "22" * 20
    # One store namespace for everyone: the deployment's identity; one chain block, no older names.
    for component in components.values():
        assert component.env["PULSELEDGER_RECORDS_CHAIN_ID"] == "31337"
        assert component.env["PULSELEDGER_RECORDS_GENESIS_HASH"] == "0x" + "ab" * 32
        assert component.env["PULSELEDGER_CHAIN_RPC_URL"] == "http://127.0.0.1:8545"
        assert component.env["PULSELEDGER_CHAIN_DEPLOYMENTS"] == str(deployments.resolve())
        assert not {"PULSELEDGER_GATEWAY_RPC_URL", "PULSELEDGER_GATEWAY_DEPLOYMENTS",
                    "PULSELEDGER_PEERS_CHAIN_RPC_URL"} & set(component.env)


def test_proxy__started_and_the_dapp_reads_through_it(tmp_path, deployments):
    components, settings = _build(tmp_path, deployments, proxy=True)
    assert "proxy" in components
    config = json.loads((settings.state_dir / "dapp-config.json").read_text())
    assert config["rpcUrl"] == "http://127.0.0.1:8645" and config["transport"] == "sigv4-proxy"
    assert config["contract"] == "0x" + "22" * 20 and config["gatewayUrl"].endswith(":8600")


def test_other_rpc__dev_keys_never_used(tmp_path, deployments):
    components, _ = _build(tmp_path, deployments, local=False)
    assert "PULSELEDGER_GATEWAY_GATEWAY_KEY" not in components["gateway"].env
    assert "PULSELEDGER_PEERS_CUSTODIAN_PRIVATE_KEY" not in components["peers"].env
    assert "market" not in components  # no key of its own off the local chain: not started
    local, _ = _build(tmp_path, deployments, local=True)
    assert local["gateway"].env["PULSELEDGER_GATEWAY_GATEWAY_KEY"] == \
        dev_account(GATEWAY_INDEX).key.to_0x_hex()


def test_user_choice__wins_over_embedded_defaults(tmp_path, deployments):
    with mock.patch.dict("os.environ", {"PULSELEDGER_RECORDS_SQLITE_DIR": "/elsewhere",
                                        "PULSELEDGER_NOTIFY_OUTBOX_DIR": "/mail"}):
        components, _ = _build(tmp_path, deployments)
    for component in components.values():
        assert "PULSELEDGER_RECORDS_SQLITE_DIR" not in component.env
        assert "PULSELEDGER_NOTIFY_OUTBOX_DIR" not in component.env


def test_switched_off__left_out(tmp_path, deployments):
    components, _ = _build(tmp_path, deployments, peers=False, listeners=False, serve_dapp=False,
                           simulate=False, demo_requester=False, devices=False, market=False)
    assert list(components) == ["gateway"]


def test_devices__endpoint_in_front_of_the_peers_queue_and_store(tmp_path, deployments):
    components, _ = _build(tmp_path, deployments)
    devices, peers = components["devices"], components["peers"]
    assert devices.command[-8:-1] == ["devices", "serve", "--host", "127.0.0.1", "--port", "8603",
                                      "--data-dir"]
    assert devices.command[-1] == peers.command[peers.command.index("--data-dir") + 1]
    assert devices.health_url == "http://127.0.0.1:8603/healthz"
    for name in ("PULSELEDGER_INGEST_QUEUE_PATH", "PULSELEDGER_RECORDS_SQLITE_DIR",
                 "PULSELEDGER_RECORDS_CHAIN_ID"):
        assert devices.env[name] == peers.env[name]
