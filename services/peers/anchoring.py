"""Batch anchoring: the Merkle root (services/records/merkle.py) of a batch of window records'
ciphertext hashes goes on-chain through `BatchAnchor` — the ledger's
`anchorBatch(bytes32 root, uint32 leafCount)`, called by a registered custodian."""

from __future__ import annotations

from typing import Protocol

ZERO_ADDRESS = "0x" + "00" * 20


class DeploymentMismatch(RuntimeError):
    """The chain behind the RPC is not the one the deployments file describes."""


class BatchAnchor(Protocol):
    def anchor_batch(self, root: bytes, leaf_count: int) -> str:
        """Put the root on-chain (once); return the hash of the transaction that did."""


ANCHOR_ABI = [
    {"type": "function", "name": "anchorBatch", "stateMutability": "nonpayable", "outputs": [],
     "inputs": [{"name": "root", "type": "bytes32"}, {"name": "leafCount", "type": "uint32"}]},
    {"type": "event", "name": "BatchAnchored", "anonymous": False, "inputs": [
        {"name": "root", "type": "bytes32", "indexed": True},
        {"name": "custodian", "type": "address", "indexed": True},
        {"name": "leafCount", "type": "uint32", "indexed": False}]},
    {"type": "function", "name": "batchAnchor", "stateMutability": "view",
     "inputs": [{"name": "root", "type": "bytes32"}],
     "outputs": [{"name": "", "type": "tuple", "components": [
         {"name": "custodian", "type": "address"}, {"name": "leafCount", "type": "uint32"},
         {"name": "anchoredAt", "type": "uint40"}]}]},
]


class Web3BatchAnchor:
    """anchorBatch through web3.py with the custodian's key (never logged).

    The contract refuses a root anchored before (RecordRegistryBatchAlreadyAnchored), and a
    storage peer can die between the transaction and noting it: so ask the contract first
    whether the root is anchored (one view call), and only if it is, find its BatchAnchored
    event — newest blocks first, in pieces of `log_block_range` (a proxy or hosted node refuses
    wider log reads; a batch retried after a crash was anchored moments ago) — whose
    transaction is the answer."""

    def __init__(self, rpc_url: str, contract_address: str, private_key: str,
                 receipt_timeout_s: float = 30.0, expected_chain_id: int | None = None,
                 log_block_range: int = 2_000):
        from web3 import Web3

        self.web3 = Web3(Web3.HTTPProvider(rpc_url))
        self.account = self.web3.eth.account.from_key(private_key)
        self.contract = self.web3.eth.contract(
            address=Web3.to_checksum_address(contract_address), abi=ANCHOR_ABI)
        self.receipt_timeout_s = receipt_timeout_s
        self.expected_chain_id = expected_chain_id
        self.log_block_range = log_block_range
        self._checked = expected_chain_id is None

    def check_deployment(self) -> None:
        """A deployments file from another chain (a restarted anvil, another network) would
        send anchorBatch to an address with no contract: the transaction succeeds and anchors
        nothing. Refuse that before the first transaction."""
        chain_id = self.web3.eth.chain_id
        if chain_id != self.expected_chain_id:
            raise DeploymentMismatch(f"the deployments file is for chain {self.expected_chain_id}"
                                     f", the RPC serves chain {chain_id}")
        if not self.web3.eth.get_code(self.contract.address):
            raise DeploymentMismatch(f"no contract at {self.contract.address} on this chain: "
                                     "the deployments file is stale (redeploy, or set "
                                     "PULSELEDGER_PEERS_DEPLOYMENTS_FILE)")
        self._checked = True

    def existing_anchor_tx(self, root: bytes) -> str | None:
        from services.chain.log_ranges import log_ranges

        if self.contract.functions.batchAnchor(root).call()[0] == ZERO_ADDRESS:
            return None
        event = self.contract.events.BatchAnchored()
        latest = self.web3.eth.block_number
        for start, end in log_ranges(0, latest, self.log_block_range, newest_first=True):
            logs = event.get_logs(from_block=start, to_block=end,
                                  argument_filters={"root": root})
            if logs:
                return "0x" + bytes(logs[0]["transactionHash"]).hex()
        raise RuntimeError("the contract holds this root but no BatchAnchored event names it")

    def anchor_batch(self, root: bytes, leaf_count: int) -> str:
        if not self._checked:
            self.check_deployment()
        existing = self.existing_anchor_tx(root)
        if existing is not None:
            return existing
        call = self.contract.functions.anchorBatch(root, leaf_count)
        tx = call.build_transaction({
            "from": self.account.address,
            "nonce": self.web3.eth.get_transaction_count(self.account.address, "pending"),
        })
        signed = self.account.sign_transaction(tx)
        tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(tx_hash,
                                                             timeout=self.receipt_timeout_s)
        if receipt.status != 1:
            raise RuntimeError("anchorBatch reverted")
        return "0x" + bytes(tx_hash).hex()
