"""A web3 connection to the configured chain and the deployed PulseLedger contract."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract

from services.chain.deployments import Deployments, DeploymentsError, load_deployments
from services.chain.settings import ChainSettings


def connect(settings: ChainSettings | None = None) -> Web3:
    settings = settings or ChainSettings()
    return Web3(
        Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": settings.request_timeout_s})
    )


def ledger_contract(w3: Web3, deployments: Deployments, name: str = "PulseLedger") -> Contract:
    """The deployed contract, after checking the deployments file belongs to this chain."""
    if w3.eth.chain_id != deployments.chain_id:
        raise DeploymentsError(
            f"deployments are for chain {deployments.chain_id}, the RPC serves {w3.eth.chain_id}"
        )
    return w3.eth.contract(address=Web3.to_checksum_address(deployments.address(name)),
                           abi=deployments.abi(name))


def open_ledger(settings: ChainSettings | None = None) -> tuple[Web3, Contract, Deployments]:
    settings = settings or ChainSettings()
    w3 = connect(settings)
    deployments = load_deployments(settings.deployments)
    return w3, ledger_contract(w3, deployments), deployments
