"""Merkle trees over ciphertext hashes: pure functions, no I/O.

- A leaf is `sha256(0x00 || sha256(ciphertext))`, a node `sha256(0x01 || min(a,b) || max(a,b))`:
  the prefixes keep a leaf from ever passing for a node (second-preimage), and sorted pairs
  mean a proof is just the list of siblings, no left/right flags.
- An odd node at the end of a level is promoted unchanged (never duplicated, so two different
  leaf lists cannot share a root by repeating the last leaf).
- The root is what storage peers anchor with `anchorBatch(root, leafCount)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(ciphertext_sha256: bytes) -> bytes:
    if len(ciphertext_sha256) != 32:
        raise ValueError("a leaf is built from a 32-byte sha256 digest")
    return hashlib.sha256(LEAF_PREFIX + ciphertext_sha256).digest()


def node_hash(a: bytes, b: bytes) -> bytes:
    lo, hi = (a, b) if a <= b else (b, a)
    return hashlib.sha256(NODE_PREFIX + lo + hi).digest()


def build(ciphertext_hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Root and one proof per input (same order) for a batch of ciphertext sha256 digests."""
    if not ciphertext_hashes:
        raise ValueError("a batch needs at least one leaf")
    level = [leaf_hash(h) for h in ciphertext_hashes]
    # positions[i] = index of input i's ancestor in the current level
    positions = list(range(len(level)))
    proofs: list[list[bytes]] = [[] for _ in level]
    while len(level) > 1:
        for i, pos in enumerate(positions):
            sibling = pos ^ 1
            if sibling < len(level):
                proofs[i].append(level[sibling])
        nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        positions = [p // 2 for p in positions]
    return level[0], proofs


def root_of(ciphertext_hashes: Sequence[bytes]) -> bytes:
    return build(ciphertext_hashes)[0]


def compute_root(ciphertext_sha256: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf_hash(ciphertext_sha256)
    for sibling in proof:
        if len(sibling) != 32:
            raise ValueError("proof elements are 32-byte hashes")
        node = node_hash(node, sibling)
    return node


def verify(ciphertext_sha256: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    try:
        return compute_root(ciphertext_sha256, proof) == root
    except ValueError:
        return False
