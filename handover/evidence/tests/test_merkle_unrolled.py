"""``verify_inclusion`` and ``MerkleTree.inclusion_proof`` walk the path without the RFC's
step-by-step loop over fn and sn: pinned here against that loop, transcribed from RFC 9162
section 2.1.3.2, on every argument in small trees and on random ones in a large one."""

import hashlib
import random
from collections.abc import Sequence

from handover.evidence.merkle import MerkleTree, leaf_hash, verify_inclusion


def rfc_verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    if not 0 <= index < size or any(len(v) != 32 for v in (leaf, root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


LEAVES = [leaf_hash(f"entry {n}".encode()) for n in range(40)]
TREE = MerkleTree(LEAVES)


def test_every_proof_in_small_trees_reads_as_the_rfc_loop_reads_it():
    for size in range(1, 34):
        root = TREE.root(size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root)
            # Every size the proof could be read against, and every index, shorter and
            # longer paths: the same answer as the loop, True or False.
            for other in range(0, 40):
                for at in (index, index ^ 1, other - 1):
                    for path in (proof, proof[:-1], [*proof, root], proof[1:]):
                        args = (LEAVES[index], at, other, path, root)
                        assert verify_inclusion(*args) == rfc_verify_inclusion(*args), args[1:3]


def test_random_proofs_in_a_large_tree_read_as_the_rfc_loop_reads_them():
    rng = random.Random(6962)
    leaves = [rng.randbytes(32) for _ in range(20_000)]
    tree = MerkleTree(leaves)
    for _ in range(2000):
        size = rng.randint(1, len(leaves))
        index = rng.randrange(size)
        proof = tree.inclusion_proof(index, size)
        root = tree.root(size)
        assert verify_inclusion(leaves[index], index, size, proof, root)
        other = rng.choice([size - 1, size + 1, rng.randint(1, 2 * size), 2**64])
        for args in (
            (leaves[index], index, other, proof, root),
            (leaves[index], index, other, proof, tree.root(min(other, len(leaves)))),
            (leaves[index], rng.randrange(2 * size), size, proof, root),
        ):
            assert verify_inclusion(*args) == rfc_verify_inclusion(*args)
