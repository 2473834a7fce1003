"""Batch anchoring: a Merkle root over window records' ciphertext hashes, put on-chain through
`BatchAnchor` (the contract's `anchorBatch(bytes32 root, uint32 leafCount)`, called by a
registered custodian), and the inclusion proofs kept beside each record.

The Merkle tree (sha256, leaves = ciphertext sha256, pairs hashed in sorted order, an odd node
promoted) is INTERIM until branch `records` lands its services/records/merkle.py.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


def _pair(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(min(a, b) + max(a, b)).digest()


def merkle_root_and_proofs(leaves_hex: list[str]) -> tuple[str, list[list[str]]]:
    level = [bytes.fromhex(h) for h in leaves_hex]
    proofs: list[list[str]] = [[] for _ in level]
    positions = list(range(len(level)))
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            nxt.append(_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i])
        for leaf, pos in enumerate(positions):
            sibling = pos ^ 1
            if sibling < len(level):
                proofs[leaf].append(level[sibling].hex())
            positions[leaf] = pos // 2
        level = nxt
    return (level[0].hex() if level else "00" * 32), proofs


def verify_proof(leaf_hex: str, proof: list[str], root_hex: str) -> bool:
    node = bytes.fromhex(leaf_hex)
    for sibling in proof:
        node = _pair(node, bytes.fromhex(sibling))
    return node.hex() == root_hex


class BatchAnchor(Protocol):
    def anchor_batch(self, root_hex: str, leaf_count: int) -> str:
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

    def anchor_batch(self, root_hex: str, leaf_count: int) -> str:
        call = self.contract.functions.anchorBatch(bytes.fromhex(root_hex), leaf_count)
        tx = call.build_transaction({
            "from": self.account.address,
            "nonce": self.web3.eth.get_transaction_count(self.account.address, "pending"),
        })
        signed = self.account.sign_transaction(tx)
        tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if receipt.status != 1:
            raise RuntimeError("anchorBatch reverted")
        return tx_hash.hex()
