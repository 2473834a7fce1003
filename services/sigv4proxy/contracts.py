"""Which contracts the write path may reach, and on which chain: settings plus the deployments
file written by `ape run deploy` ({"chain_id": int, "contracts": {name: {"address": ...}}})."""

import json
from dataclasses import dataclass

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
            deployments = json.loads(settings.deployments.read_text())
            file_chain_id = int(deployments["chain_id"])
            for name, contract in deployments.get("contracts", {}).items():
                address = contract["address"]
                if not (isinstance(address, str) and len(address) == 42):
                    raise DeploymentsError(f"contract {name!r} has no valid address")
                addresses.add(address.lower())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DeploymentsError(f"cannot read deployments file: {exc}") from None
        if chain_id is not None and chain_id != file_chain_id:
            raise DeploymentsError(
                f"chain_id setting {chain_id} differs from the deployments file's {file_chain_id}"
            )
        chain_id = file_chain_id
    if chain_id is None:
        raise DeploymentsError("set PULSELEDGER_PROXY_CHAIN_ID or PULSELEDGER_PROXY_DEPLOYMENTS")
    return WriteTargets(chain_id, frozenset(addresses))
