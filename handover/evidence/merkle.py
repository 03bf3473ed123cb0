"""The deployment-wide evidence log's Merkle tree: RFC 9162 (CT v2) section 2.1, exactly.

Everything works on leaf hashes (`leaf_hash(entry)`), 32 bytes each. Tree sizes count leaves;
indices start at 0. Proof builders raise ValueError for a request that makes no sense; the
verifiers never raise for arguments of the right types, they answer False.
"""

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(b"\x00" + data).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """``leaf_hash`` of each entry, in order."""
    return [leaf_hash(entry) for entry in entries]


def text_leaf_hashes(entries: Iterable[str]) -> list[bytes]:
    """``leaf_hash`` of each entry's UTF-8 bytes (UnicodeEncodeError for text that has none)."""
    return [leaf_hash(entry.encode()) for entry in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves: the root of a tree of len(leaf_hashes) leaves."""
    _check_hashes(leaf_hashes)
    return _root(leaf_hashes)


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """PATH(index, D[0:size]) (section 2.1.3.1); size defaults to every leaf given."""
    size = len(leaf_hashes) if size is None else size
    if not 0 <= size <= len(leaf_hashes):
        raise ValueError(f"no tree of {size} leaves in {len(leaf_hashes)}")
    return MerkleTree(leaf_hashes[:size]).inclusion_proof(index)


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, new_size: int | None = None
) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) (section 2.1.4.1); new_size defaults to every leaf given."""
    new_size = len(leaf_hashes) if new_size is None else new_size
    if not 0 <= new_size <= len(leaf_hashes):
        raise ValueError(f"no tree of {new_size} leaves in {len(leaf_hashes)}")
    return MerkleTree(leaf_hashes[:new_size]).consistency_proof(old_size)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether proof shows leaf_hash at index in the tree of size leaves with root (2.1.3.2)."""
    if not 0 <= index < size or not _all_hashes((leaf_hash, root, *proof)):
        return False
    fn, sn, node = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:  # "until either LSB(fn) is set or fn is 0"
                    fn >>= 1
                    sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether proof shows the tree of new_size leaves extends the one of old_size (2.1.4.2).

    As in the RFC, 0 < old_size: an empty tree head proves nothing and is refused. Equal sizes
    are consistent with an empty proof and equal roots (PROOF(n, D_n) is empty by 2.1.4.1).
    """
    if not 0 < old_size <= new_size or not _all_hashes((old_root, new_root, *proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:  # "right-shift both fn and sn equally until LSB(fn) is not set"
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:  # "until either LSB(fn) is set or fn is 0"
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class MerkleTree:
    """An append-only tree that keeps every level, so that appending a leaf costs amortised one
    node hash and a root of any size up to the current one, or a proof, O(log n) hashes."""

    # Roots of incomplete ranges, remembered: the tree only grows, so a range's root never changes.
    _CACHE_LIMIT = 4096

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[h][i] is the root of the complete subtree of 2**h leaves from leaf i * 2**h.
        # Incomplete subtrees along the right edge are never stored; they are hashed on demand.
        self._levels: list[list[bytes]] = [[]]
        self._incomplete: dict[tuple[int, int], bytes] = {}
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        return self._levels[0][index]

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; returns its index."""
        self.extend((leaf_hash,))
        return self.size - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes in order, hashing each level's newly completed pairs in one pass."""
        new = list(leaf_hashes)
        _check_hashes(new)
        levels = self._levels
        levels[0].extend(new)
        height = 0
        while len(levels[height]) > 1:
            if height + 1 == len(levels):
                levels.append([])
            below, above = levels[height], levels[height + 1]
            start, end = 2 * len(above), len(below) & ~1
            if start == end:
                break
            above.extend(_parents(below[start:end]))
            height += 1

    def root(self, size: int | None = None) -> bytes:
        """The root of the first size leaves (default: all), as signed in that size's tree head."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"no tree of {size} leaves in a log of {self.size}")
        return self._subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) (section 2.1.3.1); size defaults to the current size."""
        levels = self._levels
        leaves = len(levels[0])
        if size is None:
            size = leaves
        if not 0 <= index < size <= leaves:
            raise ValueError(f"no leaf {index} in a tree of {size} in a log of {leaves}")
        # PATH(index, size) read off the stored levels: below the level where index and
        # size - 1 part, the sibling at every level, each a stored complete subtree but perhaps
        # the topmost, which may be the tree's incomplete last node (hashed on demand); above
        # that level, the stored left sibling wherever the leaf's node is a right child.
        inner = (index ^ (size - 1)).bit_length()
        path = [levels[height][(index >> height) ^ 1] for height in range(inner - 1)]
        if inner:
            height = inner - 1
            sibling = (index >> height) ^ 1
            if (sibling + 1) << height <= size:
                path.append(levels[height][sibling])
            else:
                path.append(self._subtree(sibling << height, size))
        if index >> inner:
            path += [
                levels[height][(index >> height) ^ 1]
                for height in range(inner, size.bit_length())
                if (index >> height) & 1
            ]
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) (section 2.1.4.1); new_size defaults to the size now."""
        new_size = self.size if new_size is None else new_size
        if not 0 < old_size <= new_size <= self.size:
            raise ValueError(
                f"no consistency proof from {old_size} to {new_size} in a log of {self.size}"
            )
        # SUBPROOF(m, D_n, b) unrolled from the top; known is b, whether MTH(D[0:m]) is the old
        # root the verifier already holds. old_size stays within (start, end] throughout.
        path = []
        start, end, known = 0, new_size, True
        while old_size != end:
            k = _split(end - start)
            if old_size <= start + k:
                path.append(self._subtree(start + k, end))
                end = start + k
            else:
                path.append(self._subtree(start, start + k))
                start += k
                known = False
        if not known:
            path.append(self._subtree(start, end))
        path.reverse()
        return path

    def _subtree(self, start: int, end: int) -> bytes:
        # start is a multiple of a power of two >= end - start in every range the RFC recursion
        # visits, so the range is complete subtrees of falling sizes: join them right to left.
        length = end - start
        if length & (length - 1) == 0:
            height = length.bit_length() - 1
            return self._levels[height][start >> height]
        cached = self._incomplete.get((start, end))
        if cached is None:
            levels = self._levels
            blocks = []
            position = start
            while position < end:
                height = (end - position).bit_length() - 1
                blocks.append(levels[height][position >> height])
                position += 1 << height
            cached = blocks.pop()
            while blocks:
                cached = node_hash(blocks.pop(), cached)
            if len(self._incomplete) >= self._CACHE_LIMIT:
                self._incomplete.clear()
            self._incomplete[start, end] = cached
        return cached


class CompactRange:
    """The root of a growing tree from only its right edge: at most one node a level, the
    complete subtrees that the leaves so far make and that have no sibling yet. A reader of a
    long log in order (``handover verify --log``) needs the root at each signed size and
    nothing else; this keeps O(log n) hashes where ``MerkleTree`` keeps every node."""

    def __init__(self) -> None:
        self.size = 0
        # _edge[h]: the complete subtree of 2**h leaves that waits for its right sibling, if any.
        self._edge: list[bytes | None] = []

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Add leaf hashes in order, hashing each level's pairs in one pass."""
        _check_hashes(leaf_hashes)
        self.size += len(leaf_hashes)
        edge = self._edge
        level = list(leaf_hashes)
        height = 0
        while level:
            if height == len(edge):
                edge.append(None)
            waiting = edge[height]
            if waiting is not None:
                level.insert(0, waiting)
            edge[height] = level[-1] if len(level) & 1 else None
            level = _node_hashes(level)
            height += 1

    def root(self) -> bytes:
        """The root of the tree of every leaf added (MTH, section 2.1.1)."""
        node: bytes | None = None
        for waiting in self._edge:  # from the lowest level: the rightmost subtree first
            if waiting is not None:
                node = waiting if node is None else node_hash(waiting, node)
        return EMPTY_ROOT if node is None else node


def _root(leaf_hashes: Sequence[bytes]) -> bytes:
    if not leaf_hashes:
        return EMPTY_ROOT
    level = leaf_hashes
    while len(level) > 1:
        level = _parents(level)
    return level[0]


def _parents(level: Sequence[bytes]) -> list[bytes]:
    # Level by level, an odd last node carried up unchanged: the same tree as the RFC's split at
    # the largest power of two below n (the tests check it against the recursive definition).
    parents = _node_hashes(level)
    if len(level) & 1:
        parents.append(level[-1])
    return parents


def _node_hashes(level: Sequence[bytes]) -> list[bytes]:
    """node_hash of each pair (an odd last node left out)."""
    return [node_hash(left, right) for left, right in zip(level[0::2], level[1::2], strict=False)]


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hashes(hashes: Iterable[bytes]) -> None:
    if not _all_hashes(hashes):
        raise ValueError(f"leaf hashes are {HASH_SIZE} bytes")


def _all_hashes(values: Iterable[bytes]) -> bool:
    return set(map(len, values)) <= {HASH_SIZE}
