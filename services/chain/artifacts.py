"""Compiled contracts as `ape compile` leaves them (.build/__local__.json), for web3 deploys.

Services deploy nothing in production (that is `ape run deploy`); tests and benchmarks use this to
put a fresh PulseLedger on a throw-away anvil without starting ape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / ".build" / "__local__.json"


class ArtifactMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load_artifact(name: str = "PulseLedger", manifest: Path = MANIFEST) -> Artifact:
    try:
        contract_type = json.loads(manifest.read_text())["contractTypes"][name]
    except (OSError, KeyError) as error:
        raise ArtifactMissing(f"{name} is not compiled ({manifest}): run `ape compile`") from error
    return Artifact(name, contract_type["abi"], contract_type["deploymentBytecode"]["bytecode"])


def deploy(w3: Web3, artifact: Artifact, *constructor_args: Any, sender: str) -> Contract:
    """Deploy from an unlocked (anvil) account and wait for the receipt."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(*constructor_args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)
