"""A real anvil with PulseLedger deployed by web3.py from the ape build output, and the few
transactions the tests need (as the patient, the buyer, the owner)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / ".build" / "__local__.json"  # ape 0.8 keeps every contract type in here
FOUNDRY_BIN = REPO / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def anvil_binary() -> str:
    return shutil.which("anvil") or str(FOUNDRY_BIN)


def start_anvil() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([anvil_binary(), "--host", "127.0.0.1", "--port", str(port),
                                "--silent", "--accounts", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    for _ in range(200):
        try:
            if w3.is_connected():
                return process, url
        except Exception:  # noqa: BLE001, S110 - not listening yet
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("anvil did not start")


def pulse_ledger_type() -> dict:
    """PulseLedger's ape contract type (abi + bytecode), compiling first if needed."""
    if not MANIFEST.exists() or "PulseLedger" not in MANIFEST.read_text():
        subprocess.run(["uv", "run", "ape", "compile"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    return json.loads(MANIFEST.read_text())["contractTypes"]["PulseLedger"]


@dataclass
class Chain:
    w3: Web3
    url: str
    contract: object
    owner: object
    deployments: Path

    def fund(self) -> object:
        account = Account.create()
        self.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])
        return account

    def send(self, account, function, value: int = 0):
        tx = function.build_transaction({
            "from": account.address, "value": value,
            "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": self.w3.eth.chain_id})
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)
        assert receipt["status"] == 1, f"transaction failed: {function.fn_name}"
        return receipt

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.w3.provider.make_request("evm_mine", [])

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]


def deploy(url: str, gateway_address: str, workdir: Path, delivery_window_s: int = 3600) -> Chain:
    artifact = pulse_ledger_type()
    abi_file = workdir / "PulseLedger.json"
    abi_file.write_text(json.dumps({"abi": artifact["abi"]}))
    w3 = Web3(Web3.HTTPProvider(url))
    owner = Account.create()
    w3.provider.make_request("anvil_setBalance", [owner.address, hex(10**21)])
    factory = w3.eth.contract(abi=artifact["abi"],
                              bytecode=artifact["deploymentBytecode"]["bytecode"])
    chain = Chain(w3, url, None, owner, workdir / "deployments.json")
    receipt = chain.send(owner, factory.constructor(gateway_address, delivery_window_s))
    address = receipt["contractAddress"]
    chain.contract = w3.eth.contract(address=address, abi=artifact["abi"])
    chain.deployments.write_text(json.dumps({
        "network": "ethereum:local:anvil", "chain_id": w3.eth.chain_id,
        "genesis_hash": w3.eth.get_block(0)["hash"].to_0x_hex(),
        "deployment_block": receipt["blockNumber"], "deployer": owner.address,
        "contracts": {"PulseLedger": {"address": address, "abi": abi_file.name,
                                      "block": receipt["blockNumber"]}},
    }))
    return chain
