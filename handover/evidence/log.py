"""The deployment-wide Merkle log (RFC 9162): the worker gives committed events their leaf
index, and signs a tree head (size, root, time) with the deployment key at least every
``HANDOVER_TREE_HEAD_INTERVAL`` while new events arrive."""

import itertools
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from handover.evidence import keys
from handover.evidence.chain import tree_head_message
from handover.evidence.merkle import MerkleTree, text_leaf_hashes
from handover.evidence.models import Event, LogEntry, TreeHead

# One number for PostgreSQL's advisory lock: one sequencer at a time, across workers.
_SEQUENCER_LOCK = 0x48414E44  # "HAND"
_BATCH = 5000
_LOG = connection.ops.quote_name(LogEntry._meta.db_table)
# Where to look for events without a leaf. SQLite commits one writer at a time and never reuses
# an id, so every event above the highest sequenced one is new and nothing below can appear
# later. PostgreSQL hands out ids before commit: a transaction that took a lower id may commit
# after a higher one was sequenced. The sequencer looks that far below the highest sequenced
# id on every tick, and scans the whole table once per process and every _SWEEP_EVERY seconds
# for a transaction that stayed open longer than that.
_PG_WINDOW = 10_000
_SWEEP_EVERY = 600.0


class _Sweep:
    def __init__(self) -> None:
        self.last: float | None = None

    def due(self) -> bool:
        return self.last is None or time.monotonic() - self.last >= _SWEEP_EVERY

    def done(self) -> None:
        self.last = time.monotonic()


_sweep = _Sweep()


def log_sequence(limit: int = 100_000) -> int:
    """Give every committed event without a leaf its leaf index, oldest first."""
    sweep = connection.vendor == "postgresql" and _sweep.due()
    done = 0
    while done < limit:
        added = _sequence_batch(min(_BATCH, limit - done), sweep=sweep)
        if not added:
            if sweep:
                _sweep.done()
            break
        done += added
    return done


@transaction.atomic
def _sequence_batch(size: int, *, sweep: bool = False) -> int:
    """Sequence up to ``size`` events; the scan starts at the highest sequenced event (less
    PostgreSQL's window, or from the first event when sweeping), never at the table's start."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCER_LOCK])
    with connection.cursor() as cursor:
        # Two subqueries, each answered from its index: SQLite scans the whole table for a
        # SELECT with two MAX()es side by side.
        cursor.execute(f"SELECT (SELECT MAX(seq) FROM {_LOG}), (SELECT MAX(event_id) FROM {_LOG})")
        top_seq, top_event = cursor.fetchone()
    start = -1 if top_seq is None else top_seq
    floor = top_event or 0
    if connection.vendor == "postgresql":
        floor = 0 if sweep else max(floor - _PG_WINDOW, 0)
    pending = list(
        Event.objects.filter(id__gt=floor, log_entry__isnull=True)
        .order_by("id")
        .values_list("id", "body")[:size]
    )
    hashes = text_leaf_hashes([body for _id, body in pending])
    LogEntry.objects.bulk_create(
        LogEntry(seq=start + 1 + n, event_id=event_id, leaf_hash=hashed)
        for n, ((event_id, _body), hashed) in enumerate(zip(pending, hashes, strict=True))
    )
    return len(pending)


class _Tree:
    """The worker's copy of the tree, extended with new leaves instead of rebuilt."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tree = MerkleTree()

    def up_to_date(self) -> MerkleTree:
        with self.lock:
            if self.tree.size and not self._still_matches():
                self.tree = MerkleTree()  # the database went back (a restore): rebuild
            new = LogEntry.objects.filter(seq__gte=self.tree.size).order_by("seq")
            rows = new.values_list("seq", "leaf_hash").iterator(chunk_size=10_000)
            while batch := list(itertools.islice(rows, 10_000)):
                if batch[-1][0] != self.tree.size + len(batch) - 1:
                    # a gap would mean rows went missing: start over from every stored leaf
                    self.tree = MerkleTree(_all_leaves())
                    break
                self.tree.extend(bytes(leaf) for _seq, leaf in batch)
            return self.tree

    def _still_matches(self) -> bool:
        last = self.tree.size - 1
        stored = LogEntry.objects.filter(seq=last).values_list("leaf_hash", flat=True).first()
        return stored is not None and bytes(stored) == self.tree.leaf(last)


def _all_leaves() -> list[bytes]:
    return [bytes(h) for h in LogEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)]


_tree = _Tree()


def tree_head_sign(now: datetime | None = None, *, force: bool = False) -> TreeHead | None:
    """Sign the log's current size and root when it grew and the last head is old enough."""
    now = now or timezone.now()
    last = TreeHead.objects.order_by("-size").first()
    tree = _tree.up_to_date()
    if tree.size == 0 or (last is not None and last.size >= tree.size):
        return None
    recent = last is not None and now - last.signed_at < settings.HANDOVER_TREE_HEAD_INTERVAL
    if recent and not force:
        return None
    size, root = tree.size, tree.root().hex()
    signed_at = now.isoformat()
    key_id = keys.key_id(keys.public_raw())
    message = tree_head_message(size=size, root=root, signed_at=signed_at, key_id=key_id)
    head, _created = TreeHead.objects.get_or_create(
        size=size,
        defaults={
            "root": root,
            "signed_at": now,
            "key_id": key_id,
            "signature": keys.sign(message),
        },
    )
    return head


def log_step(now: datetime | None = None) -> dict[str, int]:
    """What the worker does each tick: sequence new events, sign a head when due."""
    sequenced = log_sequence()
    head = tree_head_sign(now)
    return {"sequenced": sequenced, "tree_head": head.size if head else 0}


def tree_for(size: int) -> MerkleTree:
    """The tree of the first ``size`` leaves, for proofs against a signed head."""
    tree = _tree.up_to_date()
    if tree.size >= size:
        return tree
    raise ValueError(f"the log has {tree.size} leaves, fewer than {size}")
