"""``handover verify --log``: the deployment's whole record, from rows the caller reads. Every
order's chain from the bodies, every event's queryable columns against its body, every leaf
against its event's body, and every signed tree head against the leaves' root, its signature
and the head before it. Rows stream through: memory stays flat however long the log."""

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from handover.evidence.chain import EVENT_VERSION
from handover.evidence.merkle import HASH_SIZE, CompactRange, leaf_hash
from handover.records.verify.checks import (
    Failure,
    Reason,
    Report,
    body_hash_matches,
    key_id,
    leaf_matches,
    link_failure,
    tree_head_signed,
)


# The rows are plain (not frozen) dataclasses: a frozen one sets each field through
# object.__setattr__, which costs more per row of ten fields than hashing its body. The checks
# read them and never change them.
@dataclass(slots=True)
class EventRow:
    """An event as its row holds it: the body and the columns that copy it."""

    id: int
    order_id: int | None
    type: str
    actor_id: int | None
    actor_role: str
    created_at: str  # ISO 8601
    payload: Any  # the column's JSON value as decoded (NOT_JSON: the column holds no JSON)
    body: str
    prev_hash: str
    hash: str
    # True when the reader's database compared the body with the canonical body of the row's
    # columns (``chain.event_body``, the current version) and found them byte for byte the
    # same, as SQLite can (``JSON_OBJECT``). The reader then need not hand over type, actor,
    # role, time and payload (they may be left empty): the body says what they say. False: the
    # check makes that body itself, and reads the body field by field where the two differ.
    columns_body: bool = False


# A payload column that holds no JSON value (as ``EventRow.payload``): it matches no body.
NOT_JSON: Any = object()


@dataclass(slots=True)
class LeafRow:
    seq: int
    event_id: int
    leaf_hash: bytes
    body: str  # the event's body
    event_hash: str = ""  # the event's recorded hash ("" when the reader does not give it)


@dataclass(slots=True)
class HeadRow:
    size: int
    root: str
    signed_at: str
    key_id: str
    signature: str


# Rows are taken this many at a time: the progress bar moves a chunk at a time, and the leaf
# pass adds a chunk of leaves to the tree at once.
_CHUNK = 4096

# At most this many ids of events not recorded under their body's leaf hash (events of
# version 1, or changed ones) are kept for the leaf pass; past it (a log written mostly before
# version 2) the leaf pass hashes every leaf, and memory stays flat.
_UNHASHED_MAX = 100_000


def verify_log(
    *,
    events: Iterable[EventRow],
    leaves: Iterable[LeafRow],
    heads: Iterable[HeadRow],
    public_key: bytes,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check the deployment's whole record: every order's chain from the bodies (``events``
    grouped by order, each order's in id order), every leaf against its event's body
    (``leaves`` by seq, each leaf's event among ``events``), and every signed head (by size)
    against the leaves' root, its signature and its consistency with the head before it.
    ``progress`` is called with the number of events or leaves each step has checked."""
    report = Report(key_id=key_id(public_key))
    tick = progress or (lambda _count: None)
    unhashed = _check_chains(events, report, tick)
    _check_leaves(leaves, heads, public_key, report, tick, unhashed)
    return report


def _chunks[T](rows: Iterable[T]) -> Iterator[list[T]]:
    rows = iter(rows)
    while chunk := list(islice(rows, _CHUNK)):
        yield chunk


# --- the events --------------------------------------------------------------------------------


def _check_chains(
    events: Iterable[EventRow], report: Report, tick: Callable[[int], None]
) -> set[int] | None:
    """Check each event; return the ids of those not recorded under their body's leaf hash,
    whose leaves the leaf pass must hash for itself, or None when there are too many to keep:
    then it hashes every leaf."""
    order: int | None = None
    previous = ""
    unhashed: set[int] | None = set()
    for chunk in _chunks(events):
        for row in chunk:
            if row.order_id is None or row.order_id != order:
                order, previous = row.order_id, ""
            failures, under_leaf_hash = event_failures(row, previous)
            report.failures += failures
            if not under_leaf_hash and unhashed is not None:
                unhashed.add(row.id)
                if len(unhashed) > _UNHASHED_MAX:
                    unhashed = None
            # The recorded hash, not the recomputed one: an edited body is reported once, and
            # the next event still links to what was recorded.
            previous = row.hash
        report.events += len(chunk)
        tick(len(chunk))
    return unhashed


def event_failures(row: EventRow, previous: str) -> tuple[list[Failure], bool]:
    """What is wrong with an event, given the recorded hash of its order's event before it
    ("" for the first); and whether it is recorded under its body's leaf hash (as events of
    the current version are), so that its leaf need not be hashed again."""
    problems, under_leaf_hash = _event_problems(row, previous)
    if not problems:
        return [], under_leaf_hash
    name = f"event {row.id}" + (f" of order {row.order_id}" if row.order_id else "")
    return [Failure(reason, f"{name}: {detail}") for reason, detail in problems], under_leaf_hash


def _event_problems(row: EventRow, previous: str) -> tuple[list[tuple[Reason, str]], bool]:
    problems = []
    # A body that is its columns' canonical body holds each column as it is: its version is
    # the current one, its order and previous hash those of the row.
    version: object
    order: object
    prev: object
    if row.columns_body:
        version, order, prev, changed = EVENT_VERSION, row.order_id, row.prev_hash, []
    else:
        columns = _columns_body(row)
        body = columns if _canonical_text(columns) == row.body else _parsed(row.body)
        if body is None:
            problems.append((Reason.MALFORMED, "its body is not JSON."))
            body = {}
        version, order, prev = body.get("v"), body.get("order"), body.get("prev")
        changed = [] if body is columns else _changed_columns(row, body)
    if body_hash_matches(row.body.encode(errors="surrogatepass"), version, row.hash):
        under_leaf_hash = version == EVENT_VERSION  # its event hash is its leaf hash
    else:
        problems.append((Reason.EVENT_HASH_MISMATCH, "its body does not hash to its hash."))
        under_leaf_hash = False
    if order != row.order_id:
        problems.append((Reason.ORDER_MISMATCH, f"its body says order {order}."))
    if link := link_failure(prev, previous, first=previous == ""):
        detail = f"its previous hash is {prev!r}, the order's event before it has {previous!r}."
        problems.append((link, detail))
    if changed:
        detail = f"its {', '.join(changed)} column differs from its body."
        problems.append((Reason.EVENT_COLUMN_MISMATCH, detail))
    return problems, under_leaf_hash


def _columns_body(row: EventRow) -> dict[str, Any]:
    """The body that ``chain.event_body`` makes of the row's columns, as a value."""
    return {
        "v": EVENT_VERSION,
        "order": row.order_id,
        "type": row.type,
        "actor": row.actor_id,
        "role": row.actor_role,
        "at": row.created_at,
        "payload": row.payload,
        "prev": row.prev_hash,
    }


def _canonical_text(value: Any) -> str | None:
    """The value as canonical JSON text (``canonical_json``); None for a value JSON cannot
    hold."""
    try:
        return _CANONICAL.encode(value)
    except (TypeError, ValueError, RecursionError):
        return None


# canonical_json's encoder, made once: json.dumps makes one a call, a fifth of what encoding
# an event costs. The tests hold the two to the same text.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _parsed(body: str) -> dict[str, Any] | None:
    """The body's fields; None for a body that is not JSON, {} for JSON that is no object."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else {}


def _changed_columns(row: EventRow, body: dict[str, Any]) -> list[str]:
    payload = _canonical_text(row.payload)
    same = {
        "type": _same(row.type, body.get("type")),
        "actor": _same(row.actor_id, body.get("actor")),
        "actor_role": _same(row.actor_role, body.get("role")),
        "created_at": _same(row.created_at, body.get("at")),
        "payload": payload is not None and payload == _canonical_text(body.get("payload")),
        "prev_hash": _same(row.prev_hash, body.get("prev")),
    }
    return [name for name, equal in same.items() if not equal]


def _same(column: object, in_body: object) -> bool:
    # Exact, as the bytes are: 1, 1.0 and true are equal in Python, not in a body.
    return type(column) is type(in_body) and column == in_body


# --- the leaves and the signed heads -----------------------------------------------------------


def _check_leaves(
    leaves: Iterable[LeafRow],
    heads: Iterable[HeadRow],
    public_key: bytes,
    report: Report,
    tick: Callable[[int], None],
    unhashed: set[int] | None,
) -> None:
    # Only the tree's right edge: the root at each signed size is all this needs, and memory
    # stays flat however long the log.
    tree = CompactRange()
    pending = deque(sorted(heads, key=lambda h: h.size))
    previous: tuple[HeadRow, bytes] | None = None
    while pending and pending[0].size <= 0:  # a head of no leaves: the empty tree's root
        previous = _check_head(pending.popleft(), previous, tree.root(), public_key, report)
    for chunk in _chunks(leaves):
        run: list[bytes] = []  # leaf hashes not yet added to the tree
        for done, leaf in enumerate(chunk):
            if leaf.seq != tree.size + len(run):
                tree.extend(run)
                tick(done)
                report.fail(
                    Reason.LOG_GAP,
                    f"Leaf {leaf.seq} (event {leaf.event_id}) comes where leaf {tree.size} should.",
                )
                return
            run.append(_checked_leaf(leaf, unhashed, report))
            if pending and pending[0].size == tree.size + len(run):
                tree.extend(run)
                run = []
                while pending and pending[0].size == tree.size:
                    previous = _check_head(
                        pending.popleft(), previous, tree.root(), public_key, report
                    )
        tree.extend(run)
        tick(len(chunk))
    for head in pending:
        report.fail(
            Reason.TREE_ROOT_MISMATCH,
            f"The tree head of size {head.size} is larger than the log ({tree.size} leaves).",
        )
    report.tree_size = tree.size


def _checked_leaf(leaf: LeafRow, unhashed: set[int] | None, report: Report) -> bytes:
    """The leaf's hash as the tree holds it, its failure reported. An event recorded under its
    leaf hash had that hash checked against its body by the event pass: a leaf that stores
    that very hash is its body's, with no second hashing."""
    stored = leaf.leaf_hash
    if (
        unhashed is not None
        and leaf.event_id not in unhashed
        and len(stored) == HASH_SIZE
        and stored.hex() == leaf.event_hash
    ):
        return stored
    body = leaf.body.encode(errors="surrogatepass")
    if leaf_matches(stored, body):
        return stored
    report.fail(
        Reason.LEAF_HASH_MISMATCH,
        f"Leaf {leaf.seq}: its hash is not the hash of event {leaf.event_id}'s body.",
    )
    # The tree holds the leaf as stored; one that is no hash at all, as hashed.
    return stored if len(stored) == HASH_SIZE else leaf_hash(body)


def _check_head(
    head: HeadRow,
    previous: tuple[HeadRow, bytes] | None,
    root: bytes,
    public_key: bytes,
    report: Report,
) -> tuple[HeadRow, bytes]:
    """Check a signed head against ``root``, the leaves' root at its size, and against the
    head before it; returns it with that root, for the next."""
    if root.hex() != head.root:
        report.fail(
            Reason.TREE_ROOT_MISMATCH,
            f"The tree head of size {head.size} has root {head.root}; the leaves give "
            f"{root.hex()}.",
        )
    if head.key_id != report.key_id or not tree_head_signed(
        public_key,
        size=head.size,
        root=head.root,
        signed_at=head.signed_at,
        key_id=head.key_id,
        signature=head.signature,
    ):
        report.fail(
            Reason.TREE_HEAD_SIGNATURE_INVALID,
            f"The signature of the tree head of size {head.size} (key {head.key_id}) does not "
            f"verify with key {report.key_id}.",
        )
    if previous is not None and not _extends(*previous, head, root):
        report.fail(
            Reason.CONSISTENCY_FAILED,
            f"The tree head of size {head.size} does not extend the head of size "
            f"{previous[0].size}.",
        )
    return head, root


def _extends(old: HeadRow, old_leaves_root: bytes, new: HeadRow, new_leaves_root: bytes) -> bool:
    """What ``verify_consistency`` answers for the two heads and the consistency proof between
    their sizes made from the leaves: the proof takes a verifier from MTH(old) to MTH(new) of
    those leaves, so it holds exactly when each head's root is its size's root of the leaves
    (equal sizes: when the two roots are one). Both roots are at hand here, so the proof is not
    made; the tests hold this to building and checking it."""
    try:
        old_root, new_root = bytes.fromhex(old.root), bytes.fromhex(new.root)
    except (TypeError, ValueError):
        return False
    if not 0 < old.size <= new.size or not len(old_root) == len(new_root) == HASH_SIZE:
        return False
    if old.size == new.size:
        return old_root == new_root
    return old_root == old_leaves_root and new_root == new_leaves_root
