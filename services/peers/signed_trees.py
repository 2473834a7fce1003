"""Nodes of the Merkle trees whose roots a master signed, kept so that the other bodies of the
same call verify on a short path.

A master signs one root per `agg.ingest` call over every device's body (attestation.py), and
storage checks each body on its path to that root: with thousands of devices a call, that is
a dozen hashes and base64 decodings per body, ~10 µs — a tenth of a core at 10,000 readings/s
(ten bodies a window), spent proving the same upper nodes again for every device. Once a path
has led to a signed root, every node on it and every sibling it names is in that tree; another
body whose path reaches one of them is in the tree too (the nodes are hashes: to reach a known
node from a body that is not in the tree is to find a SHA-256 collision; merkle.py's leaf and
node prefixes keep a leaf from passing for a node).

Only nodes at KEPT_FROM_LEVEL and above are kept: a quarter of a tree's nodes are at level 2
or higher, for two more hashes a body. Trees are kept per (master, root signature), the least
recently used dropped beyond TREES_KEPT — a peer closes windows whose readings came in the last
few dozen calls; a body of an older call just walks its whole path again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from services.ingest.reading import unb64
from services.records import merkle

KEPT_FROM_LEVEL = 2
TREES_KEPT = 64  # ~2,500 nodes (~250 kB) each for a call of 5,000 devices


class SignedTrees:
    def __init__(self, trees_kept: int = TREES_KEPT, kept_from_level: int = KEPT_FROM_LEVEL):
        self.trees_kept, self.kept_from_level = trees_kept, kept_from_level
        # (master, root signature) -> (the credential that signed it, nodes known in the tree)
        self._trees: OrderedDict[tuple, tuple[object, set[bytes]]] = OrderedDict()

    def walk(self, signer: tuple, leaf: bytes, proof: Sequence[str]) -> tuple[object, list, bytes]:
        """Hash up from `leaf` (a leaf hash) along `proof` (base64 siblings) until a node of the
        tree signed by `signer` is met. Returns (the credential that signed the tree, or None
        if no known node was met; the nodes computed and the siblings used, each (level, node),
        for learn(); the last node: the root if credential is None). ValueError if the proof is
        malformed."""
        tree = self._trees.get(signer)
        known = tree[1] if tree is not None else ()
        passed, node = [], leaf
        for level, encoded in enumerate(proof):
            if level >= self.kept_from_level and node in known:
                self._trees.move_to_end(signer)
                return tree[0], passed, node
            sibling = unb64(encoded)
            if len(sibling) != 32:
                raise ValueError("proof elements are 32-byte hashes")
            passed.append((level, sibling))
            node = merkle.node_hash(node, sibling)
            passed.append((level + 1, node))
        if tree is not None and node in known:
            self._trees.move_to_end(signer)
            return tree[0], passed, node
        return None, passed, node

    def learn(self, signer: tuple, credential, passed: list) -> None:
        """The nodes of a walk that led to a root `signer` signed (verified by the caller)."""
        tree = self._trees.get(signer)
        if tree is None:
            tree = self._trees[signer] = (credential, set())
            while len(self._trees) > self.trees_kept:
                self._trees.popitem(last=False)
        else:
            self._trees.move_to_end(signer)
        tree[1].update(node for level, node in passed if level >= self.kept_from_level)
