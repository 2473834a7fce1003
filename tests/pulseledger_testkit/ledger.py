"""Deploys the test event source on an anvil and writes a deployments file of the project's shape."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import to_hex
from web3 import Web3

from services.chain.deployments import ContractDeployment, Deployments, write_deployments
from services.listeners.events import idempotency_key

EVENT_SOURCE = Path(__file__).resolve().parents[1] / "listeners/contracts/EventSource.sol"


@dataclass
class TestLedger:
    w3: Web3
    contract: object
    deployments_file: Path
    patients: list[str]
    requesters: list[str]
    chain_id: int
    deployment_block: int
    next_request: int = 1
    requests: list[tuple[int, str, str]] = field(default_factory=list)  # (id, patient, requester)

    def contacts(self) -> dict[str, list[str]]:
        people = {**{p: f"patient{i}" for i, p in enumerate(self.patients)},
                  **{r: f"requester{i}" for i, r in enumerate(self.requesters)}}
        return {address.lower(): [f"{name}@example.org"] for address, name in people.items()}

    def transact(self, function, sender: str, value: int = 0) -> str:
        tx_hash = function.transact({"from": sender, "value": value, "gas": 3_000_000})
        self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        return to_hex(tx_hash)

    # -- one random business event (used by the chaos tests) ------------------------------------
    def random_event(self, rng: random.Random) -> None:
        c = self.contract.functions
        if not self.requests or rng.random() < 0.35:
            patient, requester = rng.choice(self.patients), rng.choice(self.requesters)
            self.transact(c.requestConsent(patient, 3, 1, 2**39), requester)
            self.requests.append((self.next_request, patient, requester))
            self.next_request += 1
            return
        request_id, patient, requester = rng.choice(self.requests)
        choice = rng.random()
        if choice < 0.3:
            self.transact(c.approve(request_id, requester), patient)
        elif choice < 0.45:
            self.transact(c.deny(request_id, requester), patient)
        elif choice < 0.65:
            self.transact(c.purchase(request_id, patient, 0, 2**39), requester, value=10**15)
        elif choice < 0.9:
            self.transact(c.logAccess(patient, rng.randbytes(32), (request_id << 8)), requester)
        else:
            self.transact(c.setPrice(0, 10**15), patient)

    def logs(self) -> list[dict]:
        return self.w3.eth.get_logs({"address": self.contract.address,
                                     "fromBlock": self.deployment_block, "toBlock": "latest"})

    def log_keys(self) -> set[tuple[str, int]]:
        return {(to_hex(log["transactionHash"]), log["logIndex"]) for log in self.logs()}

    def emailing_keys(self) -> set[str]:
        """Idempotency keys of the logs the relay must email about (all but price changes and
        events that only update state)."""
        silent = {self.contract.events[name]().topic for name in
                  ("PriceSet", "DeliveryConfirmed", "PurchaseRefunded", "ConsentRevoked")}
        return {idempotency_key(self.chain_id, to_hex(log["transactionHash"]), log["logIndex"])
                for log in self.logs() if to_hex(log["topics"][0]) not in
                {to_hex(t) if isinstance(t, bytes) else t for t in silent}}


def deploy_event_source(rpc_url: str, artifact: dict, folder: Path) -> TestLedger:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    accounts = w3.eth.accounts
    deployer = accounts[0]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": deployer}))
    abi_file = folder / "abi" / "PulseLedger.json"
    abi_file.parent.mkdir(parents=True, exist_ok=True)
    abi_file.write_text(json.dumps({"abi": artifact["abi"]}))
    deployments_file = folder / "deployments.json"
    write_deployments(Deployments(
        network="ethereum:local:node", chain_id=w3.eth.chain_id,
        genesis_hash=to_hex(w3.eth.get_block(0)["hash"]), deployment_block=receipt["blockNumber"],
        deployer=deployer.lower(),
        contracts={"PulseLedger": ContractDeployment(
            address=receipt["contractAddress"], abi="abi/PulseLedger.json",
            block=receipt["blockNumber"], tx=to_hex(receipt["transactionHash"]))},
    ), deployments_file)
    contract = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    return TestLedger(w3, contract, deployments_file, patients=list(accounts[1:4]),
                      requesters=list(accounts[4:7]), chain_id=w3.eth.chain_id,
                      deployment_block=receipt["blockNumber"])


class DictContacts:
    """Contact directory for the tests until the record store lands on this branch: the same
    get_contacts(owner) the record store offers, from a dict (or a JSON file for subprocesses)."""

    def __init__(self, mapping: dict[str, list[str]]) -> None:
        self.mapping = {k.lower(): list(v) for k, v in mapping.items()}

    @classmethod
    def from_file(cls, path: Path) -> DictContacts:
        return cls(json.loads(Path(path).read_text()))

    def get_contacts(self, owner: str) -> list[str]:
        return list(self.mapping.get(owner.lower(), []))
