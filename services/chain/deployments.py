"""The deployments file: what `ape run deploy` writes and every service and the dapp read.

Shape (JSON):
    {"network": "ethereum:local:node", "chain_id": 31337, "genesis_hash": "0x..",
     "deployment_block": 3, "deployer": "0x..",
     "contracts": {"PulseLedger": {"address": "0x..", "abi": "abi/PulseLedger.json",
                                    "block": 3, "tx": "0x.."}}}
ABI locations are relative to the deployments file, so the file stays valid in any checkout.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.runtime.durable_files import write_atomically


class DeploymentsError(Exception):
    """The deployments file is missing, malformed or names no such contract."""


@dataclass(frozen=True)
class ContractDeployment:
    address: str
    abi: str  # path to an ape contract-type JSON (or a bare ABI list), relative to the file
    block: int
    tx: str | None = None


@dataclass(frozen=True)
class Deployments:
    network: str
    chain_id: int
    genesis_hash: str
    deployment_block: int
    deployer: str
    contracts: dict[str, ContractDeployment] = field(default_factory=dict)
    source: Path | None = None

    def address(self, name: str = "PulseLedger") -> str:
        return self._contract(name).address

    def abi(self, name: str = "PulseLedger") -> list[dict[str, Any]]:
        location = Path(self._contract(name).abi)
        if not location.is_absolute() and self.source is not None:
            location = self.source.parent / location
        try:
            loaded = json.loads(location.read_text())
        except (OSError, ValueError) as error:
            raise DeploymentsError(f"cannot read the ABI of {name} at {location}: {error}") from error
        return loaded["abi"] if isinstance(loaded, dict) else loaded

    def _contract(self, name: str) -> ContractDeployment:
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentsError(f"no contract named {name!r} in the deployments file") from None


def load_deployments(path: str | os.PathLike[str]) -> Deployments:
    source = Path(path)
    try:
        raw = json.loads(source.read_text())
        contracts = {name: ContractDeployment(**entry) for name, entry in raw.pop("contracts").items()}
        return Deployments(**raw, contracts=contracts, source=source.resolve())
    except FileNotFoundError:
        raise DeploymentsError(f"no deployments file at {source}: run `ape run deploy`") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DeploymentsError(f"malformed deployments file {source}: {error}") from error


def write_deployments(deployments: Deployments, path: str | os.PathLike[str]) -> Path:
    """Write atomically, so a reader never sees half a file."""
    target = Path(path)
    body = asdict(deployments)
    body.pop("source")
    write_atomically(target, (json.dumps(body, indent=2) + "\n").encode())
    return target


def abi_location(abi_file: str | os.PathLike[str], deployments_file: str | os.PathLike[str]) -> str:
    """The ABI path as the deployments file stores it: relative to the file's folder."""
    return os.path.relpath(Path(abi_file).resolve(), Path(deployments_file).resolve().parent)
