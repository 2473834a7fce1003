"""Which contracts the write path may reach, and on which chain: the settings plus the deployments
file written by `ape run deploy` (read with services.chain.deployments)."""

from dataclasses import dataclass

from services.chain.deployments import DeploymentsError as _FileError
from services.chain.deployments import load_deployments

from .settings import ProxySettings


class DeploymentsError(ValueError):
    pass


@dataclass(frozen=True)
class WriteTargets:
    chain_id: int
    addresses: frozenset[str]  # lower-case


def load_write_targets(settings: ProxySettings) -> WriteTargets:
    chain_id = settings.chain_id
    addresses = set(settings.allowed_contracts)
    if settings.deployments is not None:
        try:
            deployments = load_deployments(settings.deployments)
        except _FileError as exc:
            raise DeploymentsError(f"cannot read deployments file: {exc}") from None
        for name, contract in deployments.contracts.items():
            address = contract.address
            if not (isinstance(address, str) and address.startswith("0x") and len(address) == 42):
                raise DeploymentsError(f"contract {name!r} has no valid address")
            addresses.add(address.lower())
        if chain_id is not None and chain_id != deployments.chain_id:
            raise DeploymentsError(
                f"chain_id setting {chain_id} differs from the deployments file's "
                f"{deployments.chain_id}"
            )
        chain_id = deployments.chain_id
    if chain_id is None:
        raise DeploymentsError("set PULSELEDGER_PROXY_CHAIN_ID or PULSELEDGER_PROXY_DEPLOYMENTS")
    return WriteTargets(chain_id, frozenset(addresses))
