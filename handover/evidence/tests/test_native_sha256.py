"""``handover_sha256`` (native/): SHA-256 of many messages in one call, held to hashlib's answers,
and the Merkle functions that use it held to the same answers without it.

The extension is optional at install (no compiler or OpenSSL headers: Handover hashes with
hashlib). CI builds it and sets HANDOVER_REQUIRE_NATIVE=1, so that a build that silently fell
back fails here instead of skipping."""

import gc
import hashlib
import os
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.evidence import merkle
from handover.evidence.tests.test_merkle import ref_mth

native: Any = merkle._native
if native is None and os.environ.get("HANDOVER_REQUIRE_NATIVE") == "1":
    raise pytest.UsageError(
        "HANDOVER_REQUIRE_NATIVE=1, but handover_sha256 is not installed: "
        "`uv sync --reinstall-package handover-sha256 -v` shows why it did not build"
    )

needs_native = pytest.mark.skipif(native is None, reason="handover_sha256 is not built here")

MESSAGE = st.binary(max_size=300) | st.text(max_size=100)
PREFIX = st.binary(max_size=70)


def _sha(prefix: bytes, *parts: bytes | str) -> bytes:
    data = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return hashlib.sha256(prefix + data).digest()


@needs_native
@given(st.lists(MESSAGE, max_size=40), PREFIX)
def test_each_is_hashlib_of_the_prefix_and_each_message(messages, prefix):
    assert native.each(messages, prefix) == [_sha(prefix, m) for m in messages]
    assert native.each(messages, prefix=prefix) == native.each(tuple(messages), prefix)


@needs_native
@given(st.lists(MESSAGE, max_size=20), PREFIX)
def test_hex_digests_are_bytes_hex_of_the_digests(messages, prefix):
    hexed = [digest.hex() for digest in native.each(messages, prefix)]
    assert native.each(messages, prefix, hex=True) == hexed
    assert all(type(h) is str and h.isascii() for h in hexed)
    pairs = [digest.hex() for digest in native.pairs(messages, prefix)]
    assert native.pairs(messages, prefix, hex=True) == pairs


@needs_native
@given(st.lists(st.binary(max_size=80), max_size=41), PREFIX)
def test_pairs_is_hashlib_of_the_prefix_and_each_pair(messages, prefix):
    expected = [_sha(prefix, a, b) for a, b in zip(messages[0::2], messages[1::2], strict=False)]
    assert native.pairs(messages, prefix) == expected
    assert len(expected) == len(messages) // 2  # an odd last message is left out


@needs_native
def test_without_a_prefix_each_is_plain_sha256():
    assert native.each([b"", b"abc", "é"]) == [
        hashlib.sha256(b"").digest(),
        hashlib.sha256(b"abc").digest(),
        hashlib.sha256("é".encode()).digest(),
    ]
    assert native.each([]) == [] == native.pairs([b"only one"])
    assert native.pairs(["é", b"x"], bytearray(b"\x01")) == [_sha(b"\x01", "é", b"x")]


@needs_native
def test_long_messages_and_any_iterable():
    big = os.urandom(3 * 2**20 + 7)
    assert native.each(iter([big, b"x"]), b"\x00") == [_sha(b"\x00", big), _sha(b"\x00", b"x")]
    assert native.each(m for m in (b"a", "b")) == [_sha(b"", b"a"), _sha(b"", b"b")]


@needs_native
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: native.each([b"ok", 1]), TypeError),
        (lambda: native.each([b"ok", bytearray(b"no")]), TypeError),
        (lambda: native.each(["ok", "\udc80"]), UnicodeEncodeError),
        (lambda: native.each(5), TypeError),
        (lambda: native.each([b"ok"], "not bytes"), TypeError),
        (lambda: native.pairs([b"a", 2.5]), TypeError),
        (lambda: native.pairs([b"a", None]), TypeError),
        (lambda: native.each(), TypeError),
        (lambda: native.each([b"a"], b"", True), TypeError),  # hex is keyword-only
    ],
)
def test_wrong_input_raises_and_returns_nothing(call, error):
    with pytest.raises(error):
        call()


@needs_native
def test_no_memory_is_kept_between_calls():
    messages = [os.urandom(200) for _ in range(2000)] + ["é" * 50 for _ in range(100)]
    nodes = [os.urandom(32) for _ in range(2000)]

    def calls() -> None:
        for _ in range(20):
            native.each(messages, b"\x00")
            native.pairs(nodes, b"\x01")
            with pytest.raises(TypeError):
                native.each([*messages[:1000], 1])  # 1,000 digests made, then dropped

    references = sys.getrefcount(messages), sys.getrefcount(messages[0])
    calls()  # the text's UTF-8 is cached on each str the first time: not a leak
    assert (sys.getrefcount(messages), sys.getrefcount(messages[0])) == references
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        calls()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


# --- the Merkle functions, with and without it --------------------------------------------------


@pytest.fixture(params=["native", "hashlib"])
def hashing(request, monkeypatch) -> Iterator[str]:
    if request.param == "native" and native is None:
        pytest.skip("handover_sha256 is not built here")
    if request.param == "hashlib":
        monkeypatch.setattr(merkle, "_native", None)
    yield request.param


def test_leaf_hashes_are_the_same_either_way(hashing):
    entries = [os.urandom(n) for n in range(0, 300, 7)]
    assert merkle.leaf_hashes(entries) == [merkle.leaf_hash(e) for e in entries]
    texts = ["", "plain", "é\u20ac\U0001f600", '{"a":1}']
    assert merkle.text_leaf_hashes(texts) == [merkle.leaf_hash(t.encode()) for t in texts]
    assert merkle.text_leaf_hashes_hex(texts) == [merkle.leaf_hash(t.encode()).hex() for t in texts]
    with pytest.raises(UnicodeEncodeError):
        merkle.text_leaf_hashes(["\ud800"])


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 64, 100, 1000])
def test_trees_are_the_rfcs_either_way(hashing, size):
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
    # (both ways of hashing: the fixture cannot be used with @given, so each in turn)
    entries = [n.to_bytes(2, "big") for n in range(size)]
    for use_native in (True, False):
        saved = merkle._native
        merkle._native = saved if use_native else None
        try:
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
        finally:
            merkle._native = saved
