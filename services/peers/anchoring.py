"""Batch anchoring: the Merkle root (services/records/merkle.py) of a batch of window records'
ciphertext hashes goes on-chain through `BatchAnchor` — the ledger's
`anchorBatch(bytes32 root, uint32 leafCount)`, called by a registered custodian."""

from __future__ import annotations

from typing import Protocol


class BatchAnchor(Protocol):
    def anchor_batch(self, root: bytes, leaf_count: int) -> str:
        """Put the root on-chain; return the transaction hash once it is mined."""


ANCHOR_ABI = [{
    "type": "function", "name": "anchorBatch", "stateMutability": "nonpayable", "outputs": [],
    "inputs": [{"name": "root", "type": "bytes32"}, {"name": "leafCount", "type": "uint32"}],
}]


class Web3BatchAnchor:
    """anchorBatch through web3.py with the custodian's key (never logged)."""

    def __init__(self, rpc_url: str, contract_address: str, private_key: str):
        from web3 import Web3

        self.web3 = Web3(Web3.HTTPProvider(rpc_url))
        self.account = self.web3.eth.account.from_key(private_key)
        self.contract = self.web3.eth.contract(
            address=Web3.to_checksum_address(contract_address), abi=ANCHOR_ABI)

    def anchor_batch(self, root: bytes, leaf_count: int) -> str:
        call = self.contract.functions.anchorBatch(root, leaf_count)
        tx = call.build_transaction({
            "from": self.account.address,
            "nonce": self.web3.eth.get_transaction_count(self.account.address, "pending"),
        })
        signed = self.account.sign_transaction(tx)
        tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if receipt.status != 1:
            raise RuntimeError("anchorBatch reverted")
        return "0x" + bytes(tx_hash).hex()
