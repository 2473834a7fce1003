"""One process's chain: the settings, a web3 connection, the deployment and the PulseLedger
contract handle, built once (`Chain.open`) and passed to whatever needs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3 import Web3
from web3.contract import Contract

from services.chain.deployments import Deployments, DeploymentsError, load_deployments
from services.chain.settings import ChainSettings

if TYPE_CHECKING:
    from services.records import ChainIdentity


def connect(settings: ChainSettings | None = None, **provider_options: Any) -> Web3:
    """`provider_options` go to web3's HTTPProvider (e.g. a service that owns its retries turns
    web3's off); the timeout is the settings'."""
    settings = settings or ChainSettings()
    return Web3(Web3.HTTPProvider(settings.rpc_url,
                                  request_kwargs={"timeout": settings.request_timeout_s},
                                  **provider_options))


def ledger_contract(w3: Web3, deployments: Deployments, name: str = "PulseLedger") -> Contract:
    """The deployed contract, after checking the deployments file belongs to this chain."""
    if w3.eth.chain_id != deployments.chain_id:
        raise DeploymentsError(
            f"deployments are for chain {deployments.chain_id}, the RPC serves {w3.eth.chain_id}"
        )
    return contract_handle(w3, deployments, name)


def contract_handle(w3: Web3, deployments: Deployments, name: str = "PulseLedger") -> Contract:
    """The deployed contract without asking the node anything (for callers that check the chain
    themselves, with their own error handling)."""
    return w3.eth.contract(address=Web3.to_checksum_address(deployments.address(name)),
                           abi=deployments.abi(name))


@dataclass(frozen=True)
class Chain:
    settings: ChainSettings
    w3: Web3
    deployments: Deployments
    ledger: Contract

    @classmethod
    def open(cls, settings: ChainSettings | None = None, *, check_chain_id: bool = True,
             **provider_options: Any) -> Chain:
        """Read the deployments file (DeploymentsError if it is missing or malformed) and connect.
        With `check_chain_id` the node is asked its chain id once, which must be the deployment's."""
        settings = settings or ChainSettings()
        deployments = load_deployments(settings.deployments)
        w3 = connect(settings, **provider_options)
        handle = ledger_contract if check_chain_id else contract_handle
        return cls(settings, w3, deployments, handle(w3, deployments))

    @property
    def identity(self) -> ChainIdentity:
        """The record store's namespace of this deployment (a new chain or contract starts fresh)."""
        from services.records import ChainIdentity

        return ChainIdentity.of(self.deployments)
