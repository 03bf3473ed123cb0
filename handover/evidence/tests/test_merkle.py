import hashlib
import os
import random
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.evidence import merkle
from handover.evidence.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- RFC 9162 section 2.1, transcribed as literally as possible and kept apart from the module:
# recursive, over the entries themselves, with hashlib and slices. Slow on purpose.


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _largest_power_of_two_smaller_than(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if len(d) == 0:
        return _sha256(b"")
    if len(d) == 1:
        return _sha256(b"\x00" + d[0])
    k = _largest_power_of_two_smaller_than(len(d))
    return _sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[tuple[bytes, bool]]:
    """PATH(m, D_n), each node with whether it is the left one of the pair it joins."""
    if len(d) == 1:
        return []
    k = _largest_power_of_two_smaller_than(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), (ref_mth(d[k:]), False)]
    return [*ref_path(m - k, d[k:]), (ref_mth(d[:k]), True)]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _largest_power_of_two_smaller_than(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# --- Known answers. The eight entries, the roots of their first 1..8 and the proofs below are
# the Certificate Transparency test vectors as Google's Go verifier carries them:
# github.com/transparency-dev/merkle, proof/verify_test.go (variables leaves, roots,
# inclusionProofs, consistencyProofs; there leaf numbers count from 1, here indices from 0).

CT_ENTRIES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_LEAVES = [leaf_hash(entry) for entry in CT_ENTRIES]
CT_ROOTS = {
    size: bytes.fromhex(hex_root)
    for size, hex_root in {
        1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    }.items()
}
CT_INCLUSION = [  # (index, size, proof)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CT_CONSISTENCY = [  # (old_size, new_size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def test_hashes_are_sha256_with_the_rfc_domain_prefixes():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT == MerkleTree().root()
    assert leaf_hash(b"entry") == _sha256(b"\x00entry")
    assert node_hash(b"L" * 32, b"R" * 32) == _sha256(b"\x01" + b"L" * 32 + b"R" * 32)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_ct_reference_entries(size):
    assert ref_mth(CT_ENTRIES[:size]) == CT_ROOTS[size]
    assert root(CT_LEAVES[:size]) == CT_ROOTS[size]
    assert MerkleTree(CT_LEAVES).root(size) == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "hex_proof"), CT_INCLUSION)
def test_inclusion_proofs_of_the_ct_reference_entries(index, size, hex_proof):
    proof = [bytes.fromhex(node) for node in hex_proof]
    assert inclusion_proof(CT_LEAVES, index, size) == proof
    assert MerkleTree(CT_LEAVES).inclusion_proof(index, size) == proof
    assert verify_inclusion(CT_LEAVES[index], index, size, proof, CT_ROOTS[size])


@pytest.mark.parametrize(("old_size", "new_size", "hex_proof"), CT_CONSISTENCY)
def test_consistency_proofs_of_the_ct_reference_entries(old_size, new_size, hex_proof):
    proof = [bytes.fromhex(node) for node in hex_proof]
    assert consistency_proof(CT_LEAVES, old_size, new_size) == proof
    assert MerkleTree(CT_LEAVES).consistency_proof(old_size, new_size) == proof
    assert verify_consistency(old_size, new_size, CT_ROOTS[old_size], CT_ROOTS[new_size], proof)


def test_the_seven_leaf_example_of_rfc_9162_section_2_1_5():
    d = CT_ENTRIES[:7]
    a, b, c, d3, e, f = (_sha256(b"\x00" + entry) for entry in d[:6])
    j = _sha256(b"\x00" + d[6])  # the lone d6, carried up unchanged
    g, h, i = _sha256(b"\x01" + a + b), _sha256(b"\x01" + c + d3), _sha256(b"\x01" + e + f)
    k, l = _sha256(b"\x01" + g + h), _sha256(b"\x01" + i + j)  # noqa: E741 (the RFC's name)
    tree = MerkleTree(leaf_hash(entry) for entry in d)

    assert tree.root() == _sha256(b"\x01" + k + l) == ref_mth(d)
    assert tree.inclusion_proof(0) == [b, h, l]
    assert tree.inclusion_proof(3) == [c, g, l]
    assert tree.inclusion_proof(4) == [f, j, k]
    assert tree.inclusion_proof(6) == [i, k]
    assert tree.consistency_proof(3) == [c, d3, g, l]
    assert tree.consistency_proof(4) == [l]
    assert tree.consistency_proof(6) == [i, j, k]


# --- The fast constructions against the literal ones.

ENTRIES = [f"entry {n}".encode() for n in range(300)]
LEAVES = [leaf_hash(entry) for entry in ENTRIES]


def test_level_by_level_root_is_the_rfc_root_for_every_size_up_to_300():
    appended = MerkleTree()
    for leaf in LEAVES:
        appended.append(leaf)
    extended = MerkleTree(LEAVES[:100])
    extended.extend(LEAVES[100:])
    for size in range(301):
        expected = ref_mth(ENTRIES[:size])
        assert root(LEAVES[:size]) == expected, size
        assert appended.root(size) == extended.root(size) == expected, size


def test_every_proof_in_small_trees_is_the_rfc_proof():
    tree = MerkleTree(LEAVES[:40])
    for size in range(1, 41):
        for index in range(size):
            expected = [node for node, _ in ref_path(index, ENTRIES[:size])]
            assert tree.inclusion_proof(index, size) == expected, (index, size)
            assert inclusion_proof(LEAVES, index, size) == expected, (index, size)
        for old_size in range(1, size + 1):
            expected = ref_proof(old_size, ENTRIES[:size])
            assert tree.consistency_proof(old_size, size) == expected, (old_size, size)
            assert consistency_proof(LEAVES, old_size, size) == expected, (old_size, size)


def test_append_returns_the_index_and_refuses_what_is_not_a_leaf_hash():
    tree = MerkleTree()
    assert [tree.append(leaf) for leaf in LEAVES[:3]] == [0, 1, 2]
    for bad in (b"", b"x" * 31, b"x" * 33):
        with pytest.raises(ValueError):
            tree.append(bad)
        with pytest.raises(ValueError):
            tree.extend([LEAVES[3], bad])
        with pytest.raises(ValueError):
            root([LEAVES[0], bad])
    assert tree.size == 3
    assert tree.root() == root(LEAVES[:3])


def test_proof_builders_refuse_what_the_rfc_does_not_define():
    tree = MerkleTree(LEAVES[:10])
    for index, size in [(0, 0), (-1, 5), (5, 5), (0, 11), (0, -1), (10, None)]:
        with pytest.raises(ValueError):
            tree.inclusion_proof(index, size)
        with pytest.raises(ValueError):
            inclusion_proof(LEAVES[:10], index, size)
    for old_size, new_size in [(0, 5), (0, 0), (6, 5), (1, 11), (1, -1), (11, None)]:
        with pytest.raises(ValueError):
            tree.consistency_proof(old_size, new_size)
        with pytest.raises(ValueError):
            consistency_proof(LEAVES[:10], old_size, new_size)
    with pytest.raises(ValueError):
        tree.root(11)
    assert tree.consistency_proof(10) == tree.consistency_proof(4, 4) == []


def test_proofs_and_appends_cost_logarithmic_hashes_not_a_rebuild(monkeypatch):
    tree = MerkleTree(LEAVES * 20)  # 6000 leaves: a path has at most 13 nodes
    calls = []
    node_hash = merkle.node_hash

    def counting_node_hash(left: bytes, right: bytes) -> bytes:
        calls.append(len(left + right))
        return node_hash(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting_node_hash)
    for index, size in [(0, 5999), (2999, 5999), (5998, 5999), (5999, 6000), (0, 4097)]:
        calls.clear()
        tree.inclusion_proof(index, size)
        assert len(calls) <= 13
    for old_size, new_size in [(1, 5999), (1234, 5999), (4097, 5999), (3333, 4444)]:
        calls.clear()
        tree.consistency_proof(old_size, new_size)
        tree.root(old_size)
        assert len(calls) <= 3 * 13
    calls.clear()
    tree.extend(LEAVES[:100])
    for leaf in LEAVES[:100]:
        tree.append(leaf)
    assert len(calls) <= 200 + 13


# --- Verification: every honest proof passes, every altered one fails.

TREE_SIZE = 5000
RNG = random.Random(9162)
RANDOM_LEAVES = [RNG.randbytes(32) for _ in range(TREE_SIZE)]
RANDOM_TREE = MerkleTree(RANDOM_LEAVES)
ELSEWHERE = RNG.randbytes(32)


def _flip(node: bytes) -> bytes:
    return bytes([node[0] ^ 0x08]) + node[1:]


def _altered_inclusions(index: int, size: int, proof: list[bytes]) -> Iterator[tuple]:
    """(what was changed, verify_inclusion arguments) for changes that must all be refused."""
    tree, leaf, good_root = RANDOM_TREE, RANDOM_LEAVES[index], RANDOM_TREE.root(size)
    for other in (index - 1, index + 1, index ^ 2, size, -1):
        yield f"index {other}", (leaf, other, size, proof, good_root)
    # A size claimed with that size's own root, as a signed tree head would carry them.
    for other in (size - 1, size + 1, size + 1000, size // 2, 2 * size):
        if 0 < other <= TREE_SIZE:
            yield f"size {other} with its root", (leaf, index, other, proof, tree.root(other))
    # The same root under a size that changes the proof's shape (see the test after this one).
    for other in (size // 2, 2 * size):
        yield f"size {other}", (leaf, index, other, proof, good_root)
    for what, other_root in [
        ("root of size - 1", tree.root(size - 1)),
        ("root of size + 1", tree.root(size + 1)),
        ("flipped root", _flip(good_root)),
        ("empty root", EMPTY_ROOT),
        ("33-byte root", good_root + b"\x00"),
    ]:
        yield what, (leaf, index, size, proof, other_root)
    yield "flipped leaf", (_flip(leaf), index, size, proof, good_root)
    yield "leaf given as its root", (good_root, index, size, proof, good_root)
    for i in range(len(proof)):
        for what, changed in [
            ("flipped", [*proof[:i], _flip(proof[i]), *proof[i + 1 :]]),
            ("33 bytes", [*proof[:i], proof[i] + b"\x00", *proof[i + 1 :]]),
            ("31 bytes", [*proof[:i], proof[i][:31], *proof[i + 1 :]]),
            ("removed", proof[:i] + proof[i + 1 :]),
        ]:
            yield f"{what} [{i}]", (leaf, index, size, changed, good_root)
    yield "extra appended", (leaf, index, size, [*proof, ELSEWHERE], good_root)
    yield "root appended", (leaf, index, size, [*proof, good_root], good_root)
    yield "extra prepended", (leaf, index, size, [ELSEWHERE, *proof], good_root)
    if proof:
        yield "empty proof", (leaf, index, size, [], good_root)
    if len(proof) > 1:
        yield "reversed", (leaf, index, size, proof[::-1], good_root)


def _altered_consistencies(old_size: int, new_size: int, proof: list[bytes]) -> Iterator[tuple]:
    """(what was changed, verify_consistency arguments) for changes that must all be refused."""
    tree = RANDOM_TREE
    old_root, new_root = tree.root(old_size), tree.root(new_size)
    yield "swapped sizes", (new_size, old_size, old_root, new_root, proof)
    yield "swapped sizes and roots", (new_size, old_size, new_root, old_root, proof)
    yield "swapped roots", (old_size, new_size, new_root, old_root, proof)
    yield "old size 0", (0, new_size, EMPTY_ROOT, new_root, proof)
    for other in (old_size - 1, old_size + 1, old_size ^ 2):
        yield f"old size {other}", (other, new_size, old_root, new_root, proof)
        if 0 < other <= TREE_SIZE:
            yield (
                f"old size {other} with its root",
                (other, new_size, tree.root(other), new_root, proof),
            )
    for other in (new_size - 1, new_size + 1, new_size + 1000, 2 * new_size):
        if other <= TREE_SIZE:
            yield (
                f"new size {other} with its root",
                (old_size, other, old_root, tree.root(other), proof),
            )
    for other in (new_size // 2, 2 * new_size):
        yield f"new size {other}", (old_size, other, old_root, new_root, proof)
    for what, wrong_old, wrong_new in [
        ("flipped old root", _flip(old_root), new_root),
        ("flipped new root", old_root, _flip(new_root)),
        ("old root of old size + 1", tree.root(old_size + 1), new_root),
        ("new root of new size - 1", old_root, tree.root(new_size - 1)),
        ("33-byte new root", old_root, new_root + b"\x00"),
    ]:
        yield what, (old_size, new_size, wrong_old, wrong_new, proof)
    for i in range(len(proof)):
        changed = [*proof[:i], _flip(proof[i]), *proof[i + 1 :]]
        yield f"flipped [{i}]", (old_size, new_size, old_root, new_root, changed)
        changed = [*proof[:i], proof[i] + b"\x00", *proof[i + 1 :]]
        yield f"33 bytes [{i}]", (old_size, new_size, old_root, new_root, changed)
        changed = proof[:i] + proof[i + 1 :]
        yield f"removed [{i}]", (old_size, new_size, old_root, new_root, changed)
    for what, changed in [
        ("empty proof", []),
        ("extra appended", [*proof, ELSEWHERE]),
        ("new root appended", [*proof, new_root]),
        ("old root prepended", [old_root, *proof]),
        ("first element repeated", [proof[0], *proof]),
        ("reversed", proof[::-1]),
    ]:
        if changed != proof:
            yield what, (old_size, new_size, old_root, new_root, changed)


def test_ten_thousand_random_inclusion_proofs_verify_and_no_alteration_does():
    rng = random.Random(1)
    for n in range(10_000):
        size = rng.randint(1, TREE_SIZE - 1000)
        index = rng.randrange(size)
        proof = RANDOM_TREE.inclusion_proof(index, size)
        assert verify_inclusion(RANDOM_LEAVES[index], index, size, proof, RANDOM_TREE.root(size))
        if n % 10 == 0:
            accepted = [
                what
                for what, args in _altered_inclusions(index, size, proof)
                if verify_inclusion(*args)
            ]
            assert not accepted, (index, size)


def test_ten_thousand_random_consistency_proofs_verify_and_no_alteration_does():
    rng = random.Random(2)
    for n in range(10_000):
        new_size = rng.randint(2, TREE_SIZE - 1000)
        old_size = rng.randint(1, new_size - 1)
        proof = RANDOM_TREE.consistency_proof(old_size, new_size)
        old_root, new_root = RANDOM_TREE.root(old_size), RANDOM_TREE.root(new_size)
        assert verify_consistency(old_size, new_size, old_root, new_root, proof)
        if n % 10 == 0:
            accepted = [
                what
                for what, args in _altered_consistencies(old_size, new_size, proof)
                if verify_consistency(*args)
            ]
            assert not accepted, (old_size, new_size)


def test_a_proof_binds_the_tree_size_only_through_the_signed_root():
    # The RFC's verifier reads the size only as the shape of the path, so a path that has the same
    # shape in a tree one leaf bigger or smaller passes with the root it was made for. Harmless when
    # size and root come from one signed tree head, as they must; here the exact rule is pinned.
    for size in range(1, 65):
        for index in range(size):
            proof = RANDOM_TREE.inclusion_proof(index, size)
            shape = [left for _, left in ref_path(index, ENTRIES[:size])]
            for other in (size - 1, size + 1):
                same_shape = 0 <= index < other and shape == [
                    left for _, left in ref_path(index, ENTRIES[:other])
                ]
                accepted = verify_inclusion(
                    RANDOM_LEAVES[index], index, other, proof, RANDOM_TREE.root(size)
                )
                assert accepted == same_shape, (index, size, other)
    assert verify_inclusion(
        RANDOM_LEAVES[0], 0, 6, RANDOM_TREE.inclusion_proof(0, 5), RANDOM_TREE.root(5)
    )


def test_inclusion_verification_refuses_degenerate_input_without_raising():
    leaf = RANDOM_LEAVES[0]
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    for args in [
        (leaf, 0, 0, [], leaf),
        (leaf, 1, 1, [], leaf),
        (leaf, -1, 1, [], leaf),
        (leaf, 0, -1, [], leaf),
        (leaf, 0, 1, [], _flip(leaf)),
        (b"", 0, 1, [], b""),
        (leaf[:31], 0, 1, [], leaf[:31]),
        (leaf, 0, 1, [leaf], leaf),
        (leaf, 0, 2, [], leaf),
        (leaf, 0, 2**64, [leaf] * 64, leaf),
        (leaf, 0, 2, [leaf] * 10_000, leaf),
    ]:
        assert verify_inclusion(*args) is False, args[1:3]


def test_consistency_verification_follows_the_rfc_edge_rules():
    r4, r7 = RANDOM_TREE.root(4), RANDOM_TREE.root(7)
    assert verify_consistency(4, 4, r4, r4, [])
    assert not verify_consistency(4, 4, r4, r4, [r4])  # equal sizes need an empty proof
    assert not verify_consistency(4, 4, r4, r7, [])  # and equal roots
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])  # the RFC asks 0 < first
    assert not verify_consistency(0, 7, EMPTY_ROOT, r7, [])
    assert not verify_consistency(4, 7, r4, r7, [])
    assert not verify_consistency(-4, 7, r4, r7, RANDOM_TREE.consistency_proof(4, 7))
    assert not verify_consistency(4, 7, r4[:31], r7, RANDOM_TREE.consistency_proof(4, 7))
    assert not verify_consistency(4, 2**64, r4, r7, [r7] * 64)
    # A power-of-two old size: its root is not repeated in the proof, the verifier prepends it.
    assert RANDOM_TREE.consistency_proof(4, 7) == [root(RANDOM_LEAVES[4:7])]
    assert verify_consistency(4, 7, r4, r7, RANDOM_TREE.consistency_proof(4, 7))


# --- Properties over many tree shapes.


@given(st.data())
def test_any_proof_in_a_tree_of_up_to_300_leaves_verifies_and_any_flipped_bit_breaks_it(data):
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old_size = data.draw(st.integers(1, size), label="old_size")
    tree = MerkleTree(LEAVES[:size])
    inclusion = tree.inclusion_proof(index)
    consistency = tree.consistency_proof(old_size)
    assert verify_inclusion(LEAVES[index], index, size, inclusion, tree.root())
    assert verify_consistency(old_size, size, tree.root(old_size), tree.root(), consistency)

    if inclusion:
        i = data.draw(st.integers(0, len(inclusion) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        altered = list(inclusion)
        altered[i] = (int.from_bytes(altered[i]) ^ 1 << bit).to_bytes(32)
        assert not verify_inclusion(LEAVES[index], index, size, altered, tree.root())
    if consistency:
        i = data.draw(st.integers(0, len(consistency) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        altered = list(consistency)
        altered[i] = (int.from_bytes(altered[i]) ^ 1 << bit).to_bytes(32)
        assert not verify_consistency(old_size, size, tree.root(old_size), tree.root(), altered)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_growing_in_batches_gives_the_same_tree_as_building_at_once(batches):
    tree = MerkleTree()
    start = 0
    for batch in batches:
        tree.extend(LEAVES[start : start + batch])
        start += batch
        assert tree.size == start
        assert tree._levels == MerkleTree(LEAVES[:start])._levels
        assert tree.root() == root(LEAVES[:start])


# --- verify_inclusion against RFC 9162 section 2.1.3.2's loop, transcribed apart from the module,
# on every argument in small trees and on random ones in a large one.


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


SMALL_LEAVES = LEAVES[:40]
SMALL_TREE = MerkleTree(SMALL_LEAVES)


def test_every_proof_in_small_trees_reads_as_the_rfc_loop_reads_it():
    for size in range(1, 34):
        root = SMALL_TREE.root(size)
        for index in range(size):
            proof = SMALL_TREE.inclusion_proof(index, size)
            assert verify_inclusion(SMALL_LEAVES[index], index, size, proof, root)
            # Every size the proof could be read against, and every index, shorter and
            # longer paths: the same answer as the loop, True or False.
            for other in range(0, 40):
                for at in (index, index ^ 1, other - 1):
                    for path in (proof, proof[:-1], [*proof, root], proof[1:]):
                        args = (SMALL_LEAVES[index], at, other, path, root)
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


# --- the list helpers, against leaf_hash one entry at a time.


def test_leaf_hashes_of_bytes_and_of_text_are_leaf_hash_of_each():
    entries = [os.urandom(n) for n in range(0, 300, 7)]
    assert merkle.leaf_hashes(entries) == [merkle.leaf_hash(e) for e in entries]
    texts = ["", "plain", "é\u20ac\U0001f600", '{"a":1}']
    assert merkle.text_leaf_hashes(texts) == [merkle.leaf_hash(t.encode()) for t in texts]
    with pytest.raises(UnicodeEncodeError):
        merkle.text_leaf_hashes(["\ud800"])


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 64, 100, 1000])
def test_trees_grown_in_steps_are_the_rfcs(size):
    entries = [n.to_bytes(4, "big") for n in range(size)]
    leaves = merkle.leaf_hashes(entries)
    assert merkle.root(leaves) == ref_mth(entries)
    tree = merkle.MerkleTree()
    for start in range(0, size, 7):
        tree.extend(leaves[start : start + 7])
    assert tree.root() == ref_mth(entries)
    if size:
        assert tree.root(size // 2 or 1) == ref_mth(entries[: size // 2 or 1])


@given(size=st.integers(0, 200), cuts=st.lists(st.integers(1, 40), max_size=20))
def test_a_compact_range_gives_the_rfcs_root_at_every_size_it_passes(size, cuts):
    entries = [n.to_bytes(2, "big") for n in range(size)]
    leaves = merkle.leaf_hashes(entries)
    compact = merkle.CompactRange()
    assert compact.root() == merkle.EMPTY_ROOT
    at = 0
    for cut in [*cuts, size]:
        run = leaves[at : at + cut]
        compact.extend(run)
        at += len(run)
        assert (compact.size, compact.root()) == (at, ref_mth(entries[:at]))
    assert len(compact._edge) <= max(size, 1).bit_length()
    with pytest.raises(ValueError):
        compact.extend([b"short"])
