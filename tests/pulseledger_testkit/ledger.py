"""Deploys the test event source on an anvil and writes a deployments file of the project's shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_utils import event_abi_to_log_topic, to_hex
from web3 import Web3

from services.chain.deployments import (
    ContractDeployment,
    Deployments,
    load_deployments,
    write_deployments,
)
from services.listeners.contacts import open_contacts
from services.listeners.events import idempotency_key

EMAILING_EVENTS = {"ConsentRequested", "ConsentApproved", "ConsentDenied", "PurchasePaid",
                   "AccessLogged"}
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

    def contacts(self) -> dict[str, list[str]]:
        people = {**{p: f"patient{i}" for i, p in enumerate(self.patients)},
                  **{r: f"requester{i}" for i, r in enumerate(self.requesters)}}
        return {address.lower(): [f"{name}@example.org"] for address, name in people.items()}

    def transact(self, function, sender: str, value: int = 0) -> str:
        tx_hash = function.transact({"from": sender, "value": value, "gas": 3_000_000})
        self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        return to_hex(tx_hash)

    def logs(self) -> list[dict]:
        return self.w3.eth.get_logs({"address": self.contract.address,
                                     "fromBlock": self.deployment_block, "toBlock": "latest"})

    def log_keys(self) -> set[tuple[str, int]]:
        return {(to_hex(log["transactionHash"]), log["logIndex"]) for log in self.logs()}

    def emailing_keys(self) -> set[str]:
        """Idempotency keys of the logs the relay emails about by themselves (refund notices are
        derived and keyed apart)."""
        emailing = {to_hex(event_abi_to_log_topic(entry)) for entry in self.contract.abi
                    if entry.get("type") == "event" and entry["name"] in EMAILING_EVENTS}
        return {idempotency_key(self.chain_id, to_hex(log["transactionHash"]), log["logIndex"])
                for log in self.logs() if to_hex(log["topics"][0]) in emailing}


def deploy_event_source(rpc_url: str, artifact: dict, folder: Path) -> TestLedger:
    """The test event source (PulseLedger's event signatures, emitted on demand)."""
    return deploy_contract(rpc_url, artifact, folder)


def deploy_pulseledger(rpc_url: str, folder: Path, delivery_window_s: int = 3600) -> TestLedger:
    """The real PulseLedger from `ape compile`'s output; account 0 deploys and is the gateway."""
    from services.chain.artifacts import load_artifact

    compiled = load_artifact("PulseLedger")
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    gateway = w3.eth.accounts[0]
    return deploy_contract(rpc_url, {"abi": compiled.abi, "bytecode": compiled.bytecode}, folder,
                           gateway, delivery_window_s)


def deploy_contract(rpc_url: str, artifact: dict, folder: Path, *args) -> TestLedger:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    accounts = w3.eth.accounts
    deployer = accounts[0]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": deployer}))
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


def records_env(folder: Path) -> dict[str, str]:
    """Record-store settings (SQLite backend) as the environment a daemon subprocess reads."""
    return {"PULSELEDGER_RECORDS_BACKEND": "sqlite",
            "PULSELEDGER_RECORDS_SQLITE_DIR": str(folder / "records"),
            "PULSELEDGER_RECORDS_MASTER_KEY_FILE": str(folder / "records-master.key")}


def onboard_contacts(ledger: TestLedger, folder: Path, only: list[str] | None = None):
    """A real record store (SQLite) for this deployment with every person's contact email set,
    as onboarding through the gateway does; returns the open store."""
    from services.records import RecordsSettings

    settings = RecordsSettings(backend="sqlite", sqlite_dir=folder / "records",
                               master_key_file=folder / "records-master.key")
    store = open_contacts(load_deployments(ledger.deployments_file), settings)
    for address, emails in ledger.contacts().items():
        if only is None or address in only:
            store.set_contacts(address, emails)
    return store
