"""The gateway takes its chain from the one block every service reads (PULSELEDGER_CHAIN_*), through
one chain object (services/chain/connection.py): the real PulseLedger on the session's anvil."""

import json

import pytest

from services.chain.connection import Chain
from services.chain.deployments import DeploymentsError
from services.chain.settings import ChainSettings
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings


@pytest.fixture
def chain_env_only(monkeypatch, chain):
    for name in ("RPC_URL", "DEPLOYMENTS", "RPC_TIMEOUT_S", "CONFIRMATIONS"):
        monkeypatch.delenv(f"PULSELEDGER_GATEWAY_{name}", raising=False)
    monkeypatch.setenv("PULSELEDGER_CHAIN_RPC_URL", chain.url)
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(chain.deployments))
    monkeypatch.setenv("PULSELEDGER_CHAIN_CONFIRMATIONS", "4")


def test_gateway__only_the_chain_block_set__serves_that_deployment(chain_env_only, chain):
    ledger = Ledger(GatewaySettings())
    assert ledger.contract.address == chain.contract.address
    assert ledger.confirmations == 4
    assert ledger.head() == chain.w3.eth.block_number  # it really talks to that node
    assert ledger.chain.identity.chain_id == chain.w3.eth.chain_id


def test_chain_open__deployments_of_another_chain__refused(chain, tmp_path):
    other = json.loads(chain.deployments.read_text())
    other["chain_id"] += 1
    abi = chain.deployments.parent / other["contracts"]["PulseLedger"]["abi"]
    other["contracts"]["PulseLedger"]["abi"] = str(abi.resolve())
    (tmp_path / "other.json").write_text(json.dumps(other))
    settings = ChainSettings(rpc_url=chain.url, deployments=tmp_path / "other.json")
    with pytest.raises(DeploymentsError, match="the RPC serves"):
        Chain.open(settings)
    unchecked = Chain.open(settings, check_chain_id=False)  # for callers that check themselves
    assert unchecked.ledger.address == chain.contract.address


def test_chain_open__no_deployments_file__clear_error(chain, tmp_path):
    with pytest.raises(DeploymentsError, match="run `ape run deploy`"):
        Chain.open(ChainSettings(rpc_url=chain.url, deployments=tmp_path / "missing.json"))
