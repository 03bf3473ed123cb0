"""``verify_log``'s checks on rows made here (pure, no database): an event whose body is byte
for byte the canonical body of its columns holds each column as it is; anything else is looked
at field by field, and a log reports exactly what it would if every event were read field by
field and every leaf hashed, one row at a time."""

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from handover.evidence.chain import EVENT_VERSION, event_body, event_hash, tree_head_message
from handover.evidence.merkle import MerkleTree, leaf_hash, verify_consistency
from handover.records.management.commands.verify import _decoded
from handover.records.verify import NOT_JSON, EventRow, HeadRow, LeafRow, Reason, key_id, verify_log
from handover.records.verify import log as log_check

R = Reason
KEY = Ed25519PrivateKey.generate()
RAW = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
ID = st.none() | st.integers(-(2**70), 2**70)


@given(
    order=ID,
    actor=ID,
    type=TEXT,
    role=TEXT,
    at=TEXT,
    payload=st.dictionaries(TEXT, JSON, max_size=5),
    prev=st.sampled_from(["", "ab" * 32]),
    version=st.sampled_from([1, 2]),
)
def test_the_expected_body_is_byte_for_byte_the_writers(
    order, actor, type, role, at, payload, prev, version
):
    body = event_body(
        order_id=order,
        type=type,
        actor_id=actor,
        actor_role=role,
        created_at=at,
        payload=payload,
        prev_hash=prev,
        version=version,
    )
    digest = event_hash(body, version)
    row = EventRow(1, order, type, actor, role, at, payload, body.decode(), prev, digest)
    if version == EVENT_VERSION:
        assert log_check._canonical_text(log_check._columns_body(row)) == body.decode()
    # Either version, the one check finds nothing wrong with it.
    assert log_check.event_failures(row, prev) == ([], version == EVENT_VERSION)


def test_a_column_no_body_can_hold_as_it_is_is_not_the_canonical_body():
    row = _chain(1, 1)[0]
    columns: list[dict[str, Any]] = [
        {"actor_id": True},
        {"order_id": 1.0},
        {"payload": {"n": {1, 2}}},
        {"created_at": None},
    ]
    for changed in columns:
        changed_row = replace(row, **changed)
        assert log_check._canonical_text(log_check._columns_body(changed_row)) != row.body


# --- a small log, and every kind of change to it ---------------------------------------------


def _chain(
    order: int | None, count: int, first_id: int = 1, *, stored_text: bool = False
) -> list[EventRow]:
    """An order's events as a reader gives them: the payload as decoded (PostgreSQL's), or with
    ``stored_text`` decoded from the column's text, canonical JSON as event_append writes it
    (SQLite's)."""
    rows, prev = [], ""
    for n in range(count):
        at = f"2030-01-01T00:{order or 0:02d}:{n:02d}+00:00"
        payload = {"n": n, "ok": n % 2 == 0, "note": 'a "quoted" \\ line\n', "price": 1.5}
        body = event_body(
            order_id=order,
            type="message.posted" if n else "order.placed",
            actor_id=None if n % 3 == 0 else 100 + n,
            actor_role="buyer",
            created_at=at,
            payload=payload,
            prev_hash=prev,
        )
        digest = event_hash(body)
        data = json.loads(body)
        rows.append(
            EventRow(
                first_id + n,
                order,
                data["type"],
                data["actor"],
                "buyer",
                at,
                _decoded(_json_text(payload)) if stored_text else payload,
                body.decode(),
                prev,
                digest,
            )
        )
        prev = digest
    return rows


def _log() -> list[EventRow]:
    """Three orders' chains, 7 events each, and two events of no order (each on its own)."""
    chains = [
        _chain(1, 7, 1),
        _chain(2, 7, 8, stored_text=True),
        _chain(3, 7, 15),
        _chain(None, 1, 22, stored_text=True),
    ]
    return [row for chain in [*chains, _chain(None, 1, 23)] for row in chain]


def _leaves(rows: list[EventRow]) -> list[LeafRow]:
    """The leaves of the rows, each with its event's body and recorded hash, as the reader
    joins them."""
    ordered = sorted(rows, key=lambda r: r.id)
    return [
        LeafRow(n, r.id, leaf_hash(r.body.encode()), r.body, r.hash) for n, r in enumerate(ordered)
    ]


def _head(leaves: list[LeafRow], size: int, root: str | None = None) -> HeadRow:
    root = root or MerkleTree(leaf.leaf_hash for leaf in leaves).root(size).hex()
    message = tree_head_message(size=size, root=root, signed_at="t", key_id=key_id(RAW))
    return HeadRow(size, root, "t", key_id(RAW), base64.b64encode(KEY.sign(message)).decode())


@contextmanager
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """verify_log with no short way: every event read field by field (its columns' canonical
    body never taken for it), every leaf hashed on its own, one row at a time."""
    checked_leaf = log_check._checked_leaf
    with monkeypatch.context() as patched:
        patched.setattr(log_check, "_columns_body", lambda row: NOT_JSON)
        patched.setattr(
            log_check,
            "_checked_leaf",
            lambda leaf, unhashed, report: checked_leaf(leaf, None, report),
        )
        patched.setattr(log_check, "_CHUNK", 1)
        yield


def _changes(rows: list[EventRow], rng: random.Random) -> list[EventRow]:
    """The rows with one to three random changes, each of a kind an editor of the database
    could make."""
    rows = list(rows)
    for _ in range(rng.randint(1, 3)):
        n = rng.randrange(len(rows))
        row = rows[n]
        kind = rng.randrange(14)
        if kind == 0:  # the body edited, its hash not
            rows[n] = replace(row, body=row.body.replace('"n":', '"m":'))
        elif kind == 1:  # the body edited and hashed again
            body = row.body.replace("quoted", "changed")
            rows[n] = replace(row, body=body, hash=event_hash(body.encode()))
        elif kind == 2:  # a payload column: true where the body has 1, 1 where it has 1.5
            rows[n] = _with_payload(row, lambda p: {**p, "ok": int(p["ok"])})
        elif kind == 3:
            rows[n] = _with_payload(row, lambda p: {**p, "price": 1})
        elif kind == 4:  # a scalar column
            rows[n] = replace(row, actor_role="seller")
        elif kind == 5:
            rows[n] = replace(row, created_at=row.created_at + " ")
        elif kind == 6:
            rows[n] = replace(row, prev_hash="0" * 64)
        elif kind == 7:  # an event removed
            del rows[n]
        elif kind == 8 and n + 1 < len(rows):  # two events swapped
            rows[n], rows[n + 1] = rows[n + 1], rows[n]
        elif kind == 9:  # not JSON, or not an object
            body = rng.choice(["{", "[1, 2]", '"text"'])
            rows[n] = replace(row, body=body, hash=event_hash(body.encode()))
        elif kind == 10:  # the same content, not canonical: hashed again, so still sound
            body = json.dumps(json.loads(row.body), indent=1)
            rows[n] = replace(row, body=body, hash=event_hash(body.encode()))
        elif kind == 11:  # a recorded hash that is not a hex digest
            rows[n] = replace(row, hash='x","role":"buyer')
        elif kind == 12:  # stored text: the same value spelled otherwise, read: sound
            spelled = json.dumps(row.payload, indent=1)
            rows[n] = replace(row, payload=_decoded(spelled))
        elif kind == 13:  # stored text that is not JSON, as read
            rows[n] = replace(row, payload=_decoded(_json_text(row.payload)[:-1]))
    return rows


def _with_payload(row: EventRow, change) -> EventRow:
    """The row with its payload column changed, as its reader gives it."""
    return replace(row, payload=change(row.payload))


def _leaf_changes(leaves: list[LeafRow], rng: random.Random) -> list[LeafRow]:
    leaves = list(leaves)
    kind = rng.randrange(4)
    n = rng.randrange(len(leaves))
    if kind == 0:
        leaves[n] = replace(leaves[n], leaf_hash=bytes(32))
    elif kind == 1:  # pointed at another event: its body and hash come with it (a join)
        other = leaves[(n + 1) % len(leaves)]
        leaves[n] = replace(leaves[n], event_id=other.event_id, body=other.body,
                            event_hash=other.event_hash)  # fmt: skip
    elif kind == 2:
        del leaves[n]
    return leaves


def _heads(leaves: list[LeafRow], rng: random.Random) -> list[HeadRow]:
    sizes = sorted(rng.sample(range(1, len(leaves) + 3), 3))
    heads = [_head(leaves, size) if size <= len(leaves) else _head(leaves, 1) for size in sizes]
    heads = [replace(head, size=size) for head, size in zip(heads, sizes, strict=True)]
    if rng.random() < 0.3:
        heads.append(heads[0])  # two heads of one size
    return heads


def _reported(rows: list[EventRow], leaves: list[LeafRow], heads: list[HeadRow]) -> tuple:
    ticks: list[int] = []
    report = verify_log(
        events=iter(rows),
        leaves=iter(leaves),
        heads=heads,
        public_key=RAW,
        progress=ticks.append,
    )
    return report.failures, report.events, report.tree_size, sum(ticks)


def test_a_sound_log_passes_in_chunks_of_any_size(monkeypatch):
    rows = _log()
    leaves = _leaves(rows)
    heads = [_head(leaves, 5), _head(leaves, 16), _head(leaves, len(leaves))]
    for chunk in (1, 2, 5, 4096):
        monkeypatch.setattr(log_check, "_CHUNK", chunk)
        failures, events, size, ticks = _reported(rows, leaves, heads)
        assert not failures
        assert (events, size, ticks) == (len(rows), len(leaves), len(rows) + len(leaves))


def test_a_payload_column_true_where_the_body_has_1_is_a_change():
    rows = _log()
    rows[2] = _with_payload(rows[2], lambda p: {**p, "ok": 1})
    report = verify_log(events=rows, leaves=[], heads=[], public_key=RAW)
    assert report.reasons == [R.EVENT_COLUMN_MISMATCH]
    assert "its payload column differs" in report.failures[0].detail


def test_a_stored_payload_text_is_held_to_the_body_as_json():
    sound = _log()
    n = next(i for i, row in enumerate(sound) if row.order_id == 2)
    stored = _json_text(sound[n].payload)
    checks = {
        # the same value spelled otherwise (as written before the column held canonical JSON)
        json.dumps(json.loads(stored), indent=1): [],
        _json_text({**json.loads(stored), "ok": 1}): [R.EVENT_COLUMN_MISMATCH],
        stored[:-1]: [R.EVENT_COLUMN_MISMATCH],  # not JSON
        "[" * 100_000 + "]" * 100_000: [R.EVENT_COLUMN_MISMATCH],  # nested past any limit
    }
    for text, reasons in checks.items():
        rows = list(sound)
        rows[n] = replace(rows[n], payload=_decoded(text))
        report = verify_log(events=rows, leaves=[], heads=[], public_key=RAW)
        assert report.reasons == reasons
        if reasons:
            assert f"event {rows[n].id} of order 2: its payload column differs" in str(
                report.failures
            )


def test_an_actor_column_true_where_the_body_has_1_is_a_change():
    rows = _log()
    body = json.loads(rows[1].body)
    assert body["actor"] == 101
    body["actor"] = 1
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    rows[1] = replace(rows[1], actor_id=True, body=text, hash=event_hash(text.encode()))
    rows[2] = replace(rows[2], prev_hash=rows[1].hash)
    report = verify_log(events=rows, leaves=[], heads=[], public_key=RAW)
    assert R.EVENT_COLUMN_MISMATCH in report.reasons
    assert "its actor column differs" in str(report.failures)


def test_a_recorded_hash_that_is_not_hex_cannot_slip_a_body_past_the_chain():
    # An event whose recorded hash is made to close the JSON string it is put in; the next
    # event names it as its previous hash and has a body that, with it put in as it is,
    # would read back as another previous hash. The check must not take the short way.
    rows = _chain(1, 3)
    forged = 'x","role":"buyer'
    rows[0] = replace(rows[0], hash=forged)
    head, tail = rows[1].body.split('"prev":', 1)
    body = head + f'"prev":"{forged}"' + tail[tail.index(",") :]
    rows[1] = replace(rows[1], prev_hash=forged, body=body, hash=event_hash(body.encode()))
    # the body the writer makes of its columns escapes the forged hash: it is not this body
    assert log_check._canonical_text(log_check._columns_body(rows[1])) != body
    report = verify_log(events=rows, leaves=[], heads=[], public_key=RAW)
    first, second = (
        [f.reason for f in report.failures if f.detail.startswith(f"event {n} of order 1:")]
        for n in (1, 2)
    )
    assert first == [R.EVENT_HASH_MISMATCH]
    assert second == [R.CHAIN_BROKEN, R.EVENT_COLUMN_MISMATCH]


def test_any_change_is_reported_as_checking_one_at_a_time_reports_it(monkeypatch):
    rng = random.Random(20)
    sound = _log()
    found = 0
    for _ in range(400):
        rows = _changes(sound, rng)
        leaves = _leaf_changes(_leaves(rows), rng) if rng.random() < 0.5 else _leaves(rows)
        heads = _heads(_leaves(sound), rng)
        with one_at_a_time(monkeypatch):
            expected = _reported(rows, leaves, heads)
        for chunk in (1, 3, 4096):
            monkeypatch.setattr(log_check, "_CHUNK", chunk)
            assert _reported(rows, leaves, heads) == expected
        found += bool(expected[0])
    assert found > 300  # (a few changes are sound: a no-order event's body, made canonical)


@given(
    size=st.integers(1, 40),
    data=st.data(),
)
def test_heads_extend_each_other_exactly_when_the_consistency_proof_says_so(size, data):
    """verify_log knows the leaves' root at both heads' sizes and does not make the proof
    between them; what it answers is what making and checking the proof answers."""
    leaves = [leaf_hash(n.to_bytes(2, "big")) for n in range(size)]
    tree = MerkleTree(leaves)
    old_size = data.draw(st.integers(1, size))
    new_size = data.draw(st.integers(old_size, size))

    def claimed(actual: bytes) -> str:
        return data.draw(
            st.sampled_from([actual.hex(), tree.root(1).hex(), "ab" * 31, "zz" * 32, ""])
        )

    old_root, new_root = claimed(tree.root(old_size)), claimed(tree.root(new_size))
    old = HeadRow(old_size, old_root, "t", "k", "s")
    new = HeadRow(new_size, new_root, "t", "k", "s")
    try:
        raw_old, raw_new = bytes.fromhex(old_root), bytes.fromhex(new_root)
    except ValueError:
        raw_old = raw_new = b""
    by_proof = verify_consistency(
        old_size, new_size, raw_old, raw_new, tree.consistency_proof(old_size, new_size)
    )
    assert log_check._extends(old, tree.root(old_size), new, tree.root(new_size)) == by_proof


def test_a_head_of_no_leaves_is_checked_and_does_not_hold_up_the_rest():
    rows = _log()
    leaves = _leaves(rows)
    empty = replace(_head(leaves, 1), size=0)  # signed for size 1, relabelled
    report = verify_log(events=rows, leaves=leaves, heads=[empty, _head(leaves, 3)], public_key=RAW)
    # its root is not the empty tree's, its signature no longer holds, and the proper head of
    # size 3 is checked as usual: only it cannot extend an empty tree (RFC 9162 has no proof
    # from size 0)
    assert report.reasons == [
        R.TREE_ROOT_MISMATCH,
        R.TREE_HEAD_SIGNATURE_INVALID,
        R.CONSISTENCY_FAILED,
    ]


def test_a_stored_leaf_that_is_no_hash_is_reported_not_raised():
    rows = _log()
    leaves = _leaves(rows)
    heads = [_head(leaves, 4), _head(leaves, len(leaves))]
    leaves[2] = replace(leaves[2], leaf_hash=b"short")
    report = verify_log(events=rows, leaves=leaves, heads=heads, public_key=RAW)
    assert report.reasons == [R.LEAF_HASH_MISMATCH]
    assert report.tree_size == len(leaves)


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(JSON)
def test_the_payload_encoder_is_canonical_json(value):
    assert log_check._canonical_text(value) == _json_text(value)


# --- events of version 1 (recorded under SHA-256 of the body) --------------------------------


def _mixed_chain() -> list[EventRow]:
    """One order's chain whose first four events were written as version 1 and the rest as
    version 2 (a deployment that upgraded in the middle of an order)."""
    rows = _chain(1, 8)
    prev = ""
    for n, row in enumerate(rows):
        version = 1 if n < 4 else 2
        data = json.loads(row.body)
        body = event_body(
            order_id=data["order"],
            type=data["type"],
            actor_id=data["actor"],
            actor_role=data["role"],
            created_at=data["at"],
            payload=data["payload"],
            prev_hash=prev,
            version=version,
        )
        digest = event_hash(body, version)
        rows[n] = replace(row, body=body.decode(), prev_hash=prev, hash=digest)
        prev = digest
    return rows


@pytest.mark.parametrize("kept", [100_000, 2])
def test_a_log_of_both_versions_verifies(monkeypatch, kept):
    # With room for 2 ids only, the leaf pass hashes every leaf: the same result.
    monkeypatch.setattr(log_check, "_UNHASHED_MAX", kept)
    rows = _mixed_chain()
    assert [json.loads(r.body)["v"] for r in rows] == [1, 1, 1, 1, 2, 2, 2, 2]
    # Version 1: SHA-256 of the body; version 2: the body's RFC 9162 leaf hash.
    assert rows[0].hash == hashlib.sha256(rows[0].body.encode()).hexdigest()
    assert rows[4].hash == leaf_hash(rows[4].body.encode()).hex()
    leaves = _leaves(rows)
    heads = [_head(leaves, 3), _head(leaves, len(leaves))]
    for chunk in (1, 3, 4096):
        monkeypatch.setattr(log_check, "_CHUNK", chunk)
        failures, events, size, ticks = _reported(rows, leaves, heads)
        assert failures == []
        assert (events, size, ticks) == (8, 8, 16)


def test_a_body_recorded_under_the_other_versions_hash_is_a_mismatch():
    rows = _mixed_chain()
    # Version 1's body under its leaf hash, version 2's under SHA-256 of it: each is a hash
    # of the body, but not the one its version says.
    for n, version in ((1, 2), (5, 1)):
        rows = _mixed_chain()
        forged = event_hash(rows[n].body.encode(), version)
        rows[n] = replace(rows[n], hash=forged)
        rows[n + 1] = replace(rows[n + 1], prev_hash=forged)
        report = verify_log(events=rows, leaves=[], heads=[], public_key=RAW)
        assert report.reasons[0] == R.EVENT_HASH_MISMATCH
        assert report.failures[0].detail.startswith(f"event {n + 1} of order 1:")


def test_a_leaf_is_hashed_again_unless_its_event_is_current_and_hashed(monkeypatch):
    """The leaf pass takes stored leaf hashes as their bodies' only when the event pass found
    each event recorded under that very hash; old or changed events' leaves are hashed again."""
    leaves = _leaves(_mixed_chain())
    zeroed = replace(leaves[6], leaf_hash=bytes(32))
    hashed: list[int] = []
    leaf_matches = log_check.leaf_matches

    def counted(stored: bytes, body: bytes) -> bool:
        hashed.append(1)
        return leaf_matches(stored, body)

    monkeypatch.setattr(log_check, "leaf_matches", counted)
    for chunk, unhashed, taken in (
        (leaves[4:], set(), True),  # current, and each checked against its body
        (leaves[:4], set(), False),  # version 1: recorded under another hash than the leaf's
        (leaves[4:], {6}, False),  # an event whose recorded hash is not its body's
        (leaves[4:], None, False),  # too many such events to keep their ids
        ([*leaves[4:6], zeroed, leaves[7]], set(), False),  # a stored hash not its event's
    ):
        hashed.clear()
        report = log_check.Report()
        hashes = [log_check._checked_leaf(leaf, unhashed, report) for leaf in chunk]
        assert (not hashed) is taken
        assert hashes == [leaf.leaf_hash for leaf in chunk]
        if not taken:
            assert hashes == [leaf_hash(leaf.body.encode()) for leaf in chunk] or (
                zeroed in chunk and report.reasons == [R.LEAF_HASH_MISMATCH]
            )
