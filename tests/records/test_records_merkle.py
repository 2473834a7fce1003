import hashlib

import pytest

from services.records import merkle


def hashes(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100])
def test_build__every_proof_verifies(n):
    leaves = hashes(n)
    root, proofs = merkle.build(leaves)
    assert all(merkle.verify(h, p, root) for h, p in zip(leaves, proofs, strict=True))
    assert max(len(p) for p in proofs) <= max(1, (n - 1).bit_length())


def test_verify__other_leaf_or_root__fails():
    leaves = hashes(6)
    root, proofs = merkle.build(leaves)
    assert not merkle.verify(leaves[1], proofs[0], root)
    assert not merkle.verify(leaves[0], proofs[0], hashlib.sha256(b"x").digest())


@pytest.mark.parametrize("byte", [0, 15, 31])
def test_verify__flipped_proof_byte__fails(byte):
    leaves = hashes(9)
    root, proofs = merkle.build(leaves)
    bad = list(proofs[4])
    sibling = bytearray(bad[0])
    sibling[byte] ^= 1
    bad[0] = bytes(sibling)
    assert not merkle.verify(leaves[4], bad, root)


def test_verify__truncated_or_malformed_proof__fails():
    leaves = hashes(4)
    root, proofs = merkle.build(leaves)
    assert not merkle.verify(leaves[0], proofs[0][:-1], root)
    assert not merkle.verify(leaves[0], [b"short"], root)


def test_domain_separation__an_inner_node_is_not_a_leaf():
    leaves = hashes(4)
    root, _ = merkle.build(leaves)
    left = merkle.node_hash(merkle.leaf_hash(leaves[0]), merkle.leaf_hash(leaves[1]))
    right = merkle.node_hash(merkle.leaf_hash(leaves[2]), merkle.leaf_hash(leaves[3]))
    assert merkle.node_hash(left, right) == root
    # presenting an inner node as if it were a ciphertext hash does not verify
    assert not merkle.verify(left, [right], root)


def test_odd_level__last_leaf_not_duplicated():
    three = hashes(3)
    assert merkle.root_of(three) != merkle.root_of([*three, three[-1]])


def test_build__empty__raises():
    with pytest.raises(ValueError):
        merkle.build([])
