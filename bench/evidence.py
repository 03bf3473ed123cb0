"""The evidence record against its floors: verifying the whole log, inclusion proofs, and what
the chain costs each API call that writes an event.

    .venv/bin/python bench/evidence.py                 the full run (1,000,000 events, ~25 min)
    .venv/bin/python bench/evidence.py --quick         50,000 events, few samples (about a minute)
    .venv/bin/python bench/evidence.py --events 200000 --only verify command
    HANDOVER_BENCH_PG_URL=postgresql://... .venv/bin/python bench/evidence.py   adds PostgreSQL

Prints one markdown table (measure, ours, baseline, ratio, target, met?) and exits 0: it reports
misses, it does not fail on them. Every target is measured beside its baseline in the same run,
interleaved, because the machine is two slow shared cores and the wall figures move with
whatever else runs. Sections 1 and 2 count CPU seconds of this process (waiting for a core is
not the code's cost) and take medians over rounds.

1. verify: N event bodies built in memory (no database, no Django settings) as the writer builds
   them (``chain.event_body``, ~270 bytes of canonical JSON), 20 per order for N/20 orders whose
   events interleave in the log as concurrent orders' do, each order's chained by ``prev``;
   their leaf hashes, and a tree head signed with a throwaway Ed25519 key. The event rows are
   made as the command's reader makes them, one after another in the order it reads them: on
   SQLite, which compares each body with its columns' canonical body as it reads it (the
   database's work, counted in 1b, not here), without the columns; on PostgreSQL with them
   (the payload decoded). Timed: ``verify.verify_log`` over those rows as ``handover verify
   --log`` calls it (rows grouped by order, leaves by seq, the head, a ``Progress`` advancing
   on a non-terminal), hashing with hashlib. Floor: one ``hashlib.sha256(body).digest()`` per
   event over the same bytes, run before and after every case; a case's ratio is against those
   two runs. The splits time each pass of ``verify_log`` on its own over the same rows; the
   info rows what a log costs whose rows come with their columns (PostgreSQL's), whose events
   are all read field by field, or whose leaves are all hashed again (a log of version 1).
1b. command: ``handover verify --log`` itself, in its own process, on fresh SQLite databases of
   N/10 and N events of the same kind (filled in bulk by a child, every event sequenced, one
   head signed): its CPU and peak RSS from ``wait4``, against the floor over the same bodies
   read back from that database. Its RSS must not grow with the log. It runs from modules
   compiled once, as an installed program does; its start alone (``verify --help``) is shown,
   and so is what SQLite alone takes to hand over the rows the command asks for (a bare
   ``sqlite3`` cursor in this process, no check), against the same floor.
2. proof: ``MerkleTree.inclusion_proof`` + ``merkle.verify_inclusion`` for 10,000 random leaves
   of the N-leaf tree; floor: the same number of plain SHA-256 node hashes (65 bytes each) that
   verifying those proofs needs. Cases alternate on every chunk of 250 proofs.
3. append (one child process per database, a fresh data dir, like bench/run.py's inproc mode):
   ``POST /orders/{id}/accept`` through ``django.test.Client`` with the chain as it is, against
   the same call with ``event_append``'s chain switched off for that call (see ``no_chain``),
   the variants rotating call by call; event_append alone; ``log_sequence`` (and its idle tick)
   at two log sizes; ``tree_head_sign(force=True)`` against ``keys.sign`` alone.
"""

import argparse
import base64
import gc
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import run as lifecycle_bench  # noqa: E402  (bench/run.py: Django set-up, the client, PG helpers)

SECTIONS = ("verify", "command", "proof", "append")
EVENTS_PER_ORDER = 20

TARGET_VERIFY_RATIO = 8.0  # verification at most 8x one SHA-256 per event (issue 12)
TARGET_PROOF_US = 50.0  # build + verify one inclusion proof
TARGET_RSS_GROWTH_MB = 50  # verify --log's peak RSS at 1M events within 50 MB of it at 100k


@dataclass(frozen=True)
class Plan:
    events: int = 1_000_000
    verify_rounds: int = 3
    proofs: int = 10_000
    proof_rounds: int = 5
    accepts: int = 150  # accept calls per variant
    warmup: int = 10  # lifecycles before measuring
    appends: int = 1000  # event_append calls per variant
    bulk_events: int = 200_000  # rows added for log_sequence at a larger log
    sign_rounds: int = 15


QUICK = Plan(
    events=50_000,
    verify_rounds=1,
    proofs=10_000,
    proof_rounds=2,
    accepts=20,
    warmup=3,
    appends=100,
    bulk_events=10_000,
    sign_rounds=5,
)


# --- the report ---


@dataclass
class Report:
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.rows.append((f"**{title}**", "", "", "", "", ""))

    def add(
        self,
        measure: str,
        ours: str,
        baseline: str = "-",
        ratio: str = "-",
        target: str = "-",
        *,
        met: bool | None = None,
    ) -> None:
        """A row; ``met`` None when the row has no target (information only)."""
        verdict = "-" if met is None else ("yes" if met else "**MISSED**")
        self.rows.append((measure, ours, baseline, ratio, target, verdict))

    def print(self) -> None:
        print("| measure | ours | baseline | ratio | target | met? |")
        print("|---|---:|---:|---:|---:|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        if self.notes:
            print()
            for note in self.notes:
                print(f"- {note}")


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def clocked(fn: Callable[[], object]) -> tuple[float, float]:
    """CPU seconds of this process and wall seconds of one call; a function that returns a
    float has timed its own part (CPU seconds) and that counts instead."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = fn()
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    return (result if isinstance(result, float) else cpu), wall


@dataclass
class Timings:
    cpu: dict[str, list[float]]  # CPU seconds per run
    wall: dict[str, list[float]]
    ratio: dict[str, list[float]]  # each run against the floor runs beside it

    def median(self, name: str) -> float:
        return statistics.median(self.cpu[name])

    def ratio_median(self, name: str) -> float:
        return statistics.median(self.ratio[name])


def bracketed(
    floor: Callable[[], object], cases: dict[str, Callable[[], object]], rounds: int
) -> Timings:
    """``rounds`` rounds; in each the floor runs first and again after every case (the cases
    in an order that rotates each round), and each case's ratio is against the mean of the
    floor runs just before and after it. Times are CPU seconds of this process: on shared
    cores, waiting for a core is not the code's cost (the wall times are kept for the notes)."""
    names = list(cases)
    out = Timings({n: [] for n in ["floor", *names]}, {n: [] for n in ["floor", *names]}, {})
    out.ratio = {name: [] for name in names}

    def floor_run() -> float:
        cpu, wall = clocked(floor)
        out.cpu["floor"].append(cpu)
        out.wall["floor"].append(wall)
        return cpu

    for n in range(rounds):
        before = floor_run()
        for name in names[n % len(names) :] + names[: n % len(names)]:
            cpu, wall = clocked(cases[name])
            after = floor_run()
            out.cpu[name].append(cpu)
            out.wall[name].append(wall)
            out.ratio[name].append(cpu / ((before + after) / 2))
            before = after
    return out


def med(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rotated[T](items: tuple[T, ...], n: int) -> tuple[T, ...]:
    k = n % len(items)
    return items[k:] + items[:k]


# --- 1. the log, built in memory ---


@dataclass
class Log:
    bodies: list[bytes]  # in id (= seq) order: what the floor hashes
    # verify.EventRow, grouped by order, each order's in id order, as the command's reader gives
    # them on SQLite: the database has compared each body with its columns' canonical body
    # (every one the same), so the columns are not read
    events: list
    # the same rows as the reader gives them on PostgreSQL, with their columns (every value a
    # new object, the payload decoded): the check compares each body with its columns
    events_with_columns: list
    leaves: list  # verify.LeafRow, by seq
    leaf_hashes: list[bytes]
    head: object  # verify.HeadRow
    public_key: bytes
    orders: int


def _hex(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
MESSAGES = (
    "Here is the first draft, tell me what you think.",
    "Thanks! Could the title be larger?",
    "Sure, updated.",
    "Looks good.",
    "Uploading the final files now.",
)


def _story(order: int, base_id: int, rng: random.Random) -> list[tuple[str, int | None, str, dict]]:
    """An order's 20 events as the services write them: (type, actor, role, payload)."""
    buyer, seller = 1000 + order % 5000, 9000 + order % 700
    file_a, file_b, delivery = base_id * 2, base_id * 2 + 1, base_id
    price = rng.randrange(1000, 50000, 100)

    def msg(n: int, who: int, role: str) -> tuple[str, int | None, str, dict]:
        body = MESSAGES[(order + n) % len(MESSAGES)]
        return ("message.posted", who, role, {"message_id": base_id + n, "body": body})

    def move(action: str, frm: str, to: str, who: int | None, role: str, **extra) -> tuple:
        return ("order.transition", who, role, {"action": action, "from": frm, "to": to, **extra})

    visit = {"address": f"203.0.113.{order % 250}", "user_agent": UA}
    return [
        (
            "order.placed",
            buyer,
            "buyer",
            {
                "offer_id": order % 300 + 1,
                "terms_version": 1,
                "terms_sha256": _hex(rng),
                "requirements_sha256": _hex(rng),
                "price": price,
                "buyer_fee": price // 20,
                "seller_fee": price // 10,
                "total": price + price // 20,
                "currency": "EUR",
            },
        ),
        ("payment.started", buyer, "buyer", {"provider": "test", "reference": f"test_{order}"}),
        move("pay", "pending_payment", "in_progress", None, "provider", amount=price + price // 20),
        msg(1, buyer, "buyer"),
        msg(2, seller, "seller"),
        msg(3, buyer, "buyer"),
        ("delivery.created", seller, "seller", {"delivery_id": delivery, "files": [file_a]}),
        move("deliver", "in_progress", "delivered", seller, "seller", delivery_id=delivery),
        (
            "file.preview_made",
            None,
            "system",
            {"file_id": file_a, "parts": [{"index": 0, "sha256": _hex(rng), "size": 48213}]},
        ),
        ("file.preview_viewed", buyer, "buyer", {"file_id": file_a, "part": 0, **visit}),
        msg(4, buyer, "buyer"),
        move("request_revision", "delivered", "in_progress", buyer, "buyer"),
        msg(5, seller, "seller"),
        ("delivery.created", seller, "seller", {"delivery_id": delivery + 1, "files": [file_b]}),
        move("deliver", "in_progress", "delivered", seller, "seller", delivery_id=delivery + 1),
        ("file.preview_made", None, "system", {"file_id": file_b, "parts": []}),
        move("accept", "delivered", "completed", buyer, "buyer"),
        ("file.original_downloaded", buyer, "buyer", {"file_id": file_b, "bytes": 48213}),
        ("ledger.cleared", None, "system", {"amount": price - price // 10}),
        ("review.submitted", buyer, "buyer", {"review_id": order, "author_role": "buyer"}),
    ]


def stream_events(n: int, seed: int = 1) -> Iterator[tuple]:
    """n events of n/20 orders as the services write them, in id order; orders run 500 at a
    time, so their events interleave by id. Each: (id, order, type, actor, role, created_at
    (a datetime), payload, prev_hash, body, hash)."""
    from handover.evidence import chain

    rng = random.Random(seed)
    orders = max(1, n // EVENTS_PER_ORDER)
    window = 500
    sequence: list[int] = []  # the order of each event id
    for first in range(1, orders + 1, window):
        block = [o for o in range(first, min(first + window, orders + 1))]
        block = [o for o in block for _ in range(EVENTS_PER_ORDER)]
        rng.shuffle(block)
        sequence.extend(block)
    stories: dict[int, list] = {}
    done: dict[int, int] = {}
    heads: dict[int, str] = {}
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index, order in enumerate(sequence[:n]):
        if order not in stories:
            stories[order] = _story(order, order * 100, rng)
        k = done.get(order, 0)
        done[order] = k + 1
        type_, actor, role, payload = stories[order][k]
        if k == EVENTS_PER_ORDER - 1:
            del stories[order]
        when = start + timedelta(microseconds=index * 250_000 + rng.randrange(250_000))
        prev = heads.get(order, "")
        body = chain.event_body(
            order_id=order,
            type=type_,
            actor_id=actor,
            actor_role=role,
            created_at=when.isoformat(),
            payload=payload,
            prev_hash=prev,
        )
        digest = chain.event_hash(body)
        heads[order] = digest
        yield index + 1, order, type_, actor, role, when, payload, prev, body, digest


def build_log(n: int, seed: int = 1) -> Log:
    """The log of ``stream_events`` in memory, as the command's readers give it to verify_log."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from handover.evidence import chain, merkle
    from handover.records import verify

    by_order: dict[int, list] = {}
    bodies: list[bytes] = []
    leaves: list = []
    leaf_hashes: list[bytes] = []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for event_id, order, type_, actor, role, when, payload, prev, body, digest in stream_events(
        n, seed
    ):
        text = body.decode()
        at = when.isoformat()
        row = verify.EventRow(event_id, order, type_, actor, role, at, payload, text, prev, digest)
        by_order.setdefault(order, []).append(row)
        bodies.append(body)
        leaf = merkle.leaf_hash(body)
        leaf_hashes.append(leaf)
        leaves.append(verify.LeafRow(event_id - 1, event_id, leaf, text, digest))
    # The rows were made in id order, so that an order's rows lie far apart in memory. The
    # reader makes each row as it reads it, in the order verify_log takes them: made again
    # here in that order, every value a new object.
    with_columns = [_as_read(row) for order in sorted(by_order) for row in by_order[order]]
    events = [
        verify.EventRow(r.id, r.order_id, "", None, "", "", None, r.body, r.prev_hash, r.hash, True)
        for r in with_columns
    ]
    root = merkle.root(leaf_hashes).hex()
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    key_id = verify.key_id(public)
    signed_at = (start + timedelta(days=30)).isoformat()
    message = chain.tree_head_message(size=n, root=root, signed_at=signed_at, key_id=key_id)
    signature = base64.b64encode(key.sign(message)).decode()
    head = verify.HeadRow(n, root, signed_at, key_id, signature)
    return Log(bodies, events, with_columns, leaves, leaf_hashes, head, public, len(by_order))


def _as_read(row):
    """A row as the command's reader makes it from the database: every value a new object, the
    payload decoded from the column's text."""
    from handover.records import verify

    def new(text: str) -> str:
        return text.encode().decode()

    text = json.dumps(row.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return verify.EventRow(
        row.id,
        row.order_id,
        new(row.type),
        row.actor_id,
        new(row.actor_role),
        new(row.created_at),
        json.loads(text),
        new(row.body),
        new(row.prev_hash),
        new(row.hash),
    )


# --- 1. verify ---


def section_verify(plan: Plan, report: Report, log: Log) -> None:
    import hashlib

    from handover.evidence import merkle
    from handover.records import verify
    from handover.records.management.commands.verify import Progress
    from handover.records.verify import log as log_check

    n = len(log.bodies)
    sha256 = hashlib.sha256

    def floor() -> None:
        for body in log.bodies:
            sha256(body).digest()

    def checked(result, events: int, leaves: int) -> None:
        if not result.ok or result.events != events or result.tree_size != leaves:
            raise RuntimeError(f"verify_log: {verify.report_lines(result)}")

    def verify_log(events: list) -> None:
        # As `handover verify --log` calls it, progress bar included (a line per tenth).
        bar = Progress(io.StringIO(), 2 * n)
        result = verify.verify_log(
            events=events,
            leaves=log.leaves,
            heads=[log.head],
            public_key=log.public_key,
            progress=bar.tick,
        )
        checked(result, n, n)

    def pass_events(events: list) -> None:
        checked(verify.verify_log(events=events, leaves=(), heads=(), public_key=b""), n, 0)

    def pass_leaves() -> None:
        result = verify.verify_log(
            events=(), leaves=log.leaves, heads=[log.head], public_key=log.public_key
        )
        checked(result, 0, n)

    def field_by_field() -> None:
        """The event pass with every event read field by field (json.loads, each column
        compared), as an event is that is not its columns' canonical body."""
        saved = log_check._columns_body
        log_check._columns_body = lambda row: verify.NOT_JSON
        try:
            pass_events(log.events_with_columns)
        finally:
            log_check._columns_body = saved

    def rehash() -> None:
        """The leaf pass with every leaf hashed from its body (a log of version 1 events)."""
        result = verify.verify_log(
            events=(), leaves=log.leaves, heads=[log.head], public_key=log.public_key
        )
        saved = log_check._UNHASHED_MAX
        log_check._UNHASHED_MAX = -1
        try:
            result = verify.verify_log(
                events=log.events[:1],
                leaves=log.leaves,
                heads=[log.head],
                public_key=log.public_key,
            )
        finally:
            log_check._UNHASHED_MAX = saved
        if result.tree_size != n:
            raise RuntimeError(verify.report_lines(result))

    def tree() -> None:
        compact = merkle.CompactRange()
        for at in range(0, n, log_check._CHUNK):
            compact.extend(log.leaf_hashes[at : at + log_check._CHUNK])
        if compact.root().hex() != log.head.root:
            raise RuntimeError

    cases = {
        "verify_log": partial(verify_log, log.events),
        "events": partial(pass_events, log.events),
        "compared": partial(verify_log, log.events_with_columns),
        "compared events": partial(pass_events, log.events_with_columns),
        "leafpass": pass_leaves,
        "tree": tree,
        "fields": field_by_field,
        "rehash": rehash,
    }
    progress(f"verify: {plan.verify_rounds} rounds over {n:,} events, the floor between cases")
    t = bracketed(floor, cases, plan.verify_rounds)
    base = t.median("floor")

    def per(seconds: float) -> str:
        return f"{seconds:.2f} s ({seconds / n * 1e6:.2f} µs/event)"

    mean = statistics.fmean(map(len, log.bodies))
    report.section(
        f"1. verify {n:,} events in memory ({log.orders:,} orders, {mean:.0f} B each; hashlib)"
    )
    floor_cell = per(base)

    def row(label: str, name: str, target: bool = False) -> None:
        ratio = t.ratio_median(name)
        if target:
            goal = f"<= {TARGET_VERIFY_RATIO:.0f}x"
            met = ratio <= TARGET_VERIFY_RATIO
            report.add(label, per(t.median(name)), floor_cell, f"{ratio:.1f}x", goal, met=met)
        else:
            report.add(label, per(t.median(name)), floor_cell, f"{ratio:.2f}x")

    row(
        "verify_log over the rows as `handover verify --log` reads them (SQLite)",
        "verify_log",
        True,
    )
    row("split: event pass (hash, link; SQLite compared body and columns)", "events")
    row("info: verify_log over rows with their columns (PostgreSQL's reader)", "compared")
    row(
        "- its event pass (hash, link, body against its columns' canonical JSON)", "compared events"
    )
    row("split: leaf pass (leaves, tree, the signed head)", "leafpass")
    row("- the tree's right edge, a chunk at a time (CompactRange)", "tree")
    row("info: event pass reading every event field by field", "fields")
    row("info: leaf pass hashing every leaf again (a log of version 1)", "rehash")
    ratios = t.ratio["verify_log"]
    report.notes.append(
        f"verify: CPU seconds of this process, medians of {plan.verify_rounds} rounds; each "
        "ratio is the median over rounds of the case against the floor runs just before and "
        f"after it. The floor took {_spread(t.cpu['floor'])} s CPU ({_spread(t.wall['floor'])} "
        f"s wall); verify_log {_spread(t.cpu['verify_log'])} s CPU "
        f"({_spread(t.wall['verify_log'])} s wall), {_spread(ratios, 1)}x the floor. Each split "
        "row is timed alone over the same rows, so they need not add up exactly."
    )


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def _head_message(head) -> bytes:
    from handover.evidence.chain import tree_head_message

    return tree_head_message(
        size=head.size, root=head.root, signed_at=head.signed_at, key_id=head.key_id
    )


# --- 1b. the command, from a database ---


def section_command(plan: Plan, report: Report) -> None:
    """``handover verify --log`` as a user runs it, on SQLite databases of a tenth of the
    events and of all of them: its CPU against the floor over the same bodies (read from that
    database in this process), and its peak RSS, which must not grow with the log."""
    import sqlite3

    sizes = (plan.events // 10, plan.events)
    handover = shutil.which("handover", path=str(Path(sys.executable).parent))
    if handover is None:
        report.section("1b. `handover verify --log`: skipped, no `handover` beside this Python")
        return
    report.section("1b. `handover verify --log` from a SQLite database (one process, hashlib)")
    start = _command_start(handover)
    peaks: list[float] = []
    for size in sizes:
        data_dir = tempfile.mkdtemp(prefix="handover-bench-verify-")
        env = {**os.environ, "HANDOVER_DATA_DIR": data_dir}
        env["DJANGO_SETTINGS_MODULE"] = "handover.settings"
        env.pop("DATABASE_URL", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: the modules compiled once
        try:
            progress(f"command: filling a database with {size:,} events ...")
            command = [sys.executable, str(Path(__file__).resolve()), "--child", "fill"]
            subprocess.run([*command, "--events", str(size)], env=env, check=True)
            with sqlite3.connect(Path(data_dir) / "handover.sqlite3") as db:
                bodies = [
                    body.encode() for (body,) in db.execute("SELECT body FROM evidence_event")
                ]

            progress(f"command: SQLite's reads alone over {size:,} events ...")
            floor_before = _hash_each(bodies)
            reads = _sqlite_reads(Path(data_dir) / "handover.sqlite3")
            floor_after = _hash_each(bodies)

            progress(f"command: handover verify --log over {size:,} events ...")
            before = _hash_each(bodies)
            usage_file = Path(data_dir) / "usage.json"
            done = subprocess.run(
                [sys.executable, "-c", _MEASURED, str(usage_file), handover, "verify", "--log"],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            out = done.stdout
            usage = json.loads(usage_file.read_text())
            after = _hash_each(bodies)
            if usage["status"] or not out.startswith(f"OK: {size} events, {size} leaves"):
                raise RuntimeError(f"verify --log: {out[-500:]}")
            cpu = usage["cpu"]
            base = (before + after) / 2
            peak = usage["maxrss_kib"] / 1024
            peaks.append(peak)
            floor = (floor_before + floor_after) / 2
            for label, seconds in reads.items():
                report.add(
                    f"- {size:,} events, {label}",
                    f"{seconds:.2f} s ({seconds / size * 1e6:.2f} µs/event)",
                    f"{floor:.2f} s",
                    f"{seconds / floor:.1f}x",
                )
            report.add(
                f"{size:,} events: CPU, and its peak RSS",
                f"{cpu:.2f} s ({cpu / size * 1e6:.2f} µs/event), {peak:.0f} MiB",
                f"{base:.2f} s ({base / size * 1e6:.2f} µs/event)",
                f"{cpu / base:.1f}x",
                f"<= {TARGET_VERIFY_RATIO:.0f}x",
                met=cpu / base <= TARGET_VERIFY_RATIO,
            )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    report.add(
        "- of which the program's start (`handover verify --help`: Python, Django, the command)",
        f"{start:.2f} s",
    )
    growth = peaks[-1] - peaks[0]
    report.add(
        f"peak RSS at {sizes[1]:,} less at {sizes[0]:,} events",
        f"{growth:+.0f} MiB",
        target=f"<= {TARGET_RSS_GROWTH_MB} MB",
        met=abs(growth) * 2**20 <= TARGET_RSS_GROWTH_MB * 10**6,
    )
    report.notes.append(
        "command: the CPU and peak RSS of the `handover verify --log` process (Django's "
        "start, the two queries through the ORM, the checks, the progress lines), from wait4 "
        "in a small parent; the floor is hashlib.sha256 over the same bodies read from that "
        "database, before and after it. The command runs as an installed program does, from "
        "modules compiled once (PYTHONDONTWRITEBYTECODE unset for it; a first run compiles)."
    )


# Runs a command and writes its exit status, CPU seconds and peak RSS (from wait4) to a file.
# A small process between: a child forked from this one (which holds the log in memory) would
# count this process's pages in its peak RSS until it executes the command.
_MEASURED = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
out = {"status": status, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
"""


def _command_start(handover: str) -> float:
    """CPU seconds of ``handover verify --help``: the start every run of the command pays,
    after a first run has compiled the modules (as an install does)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "handover.settings"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="handover-bench-start-") as data_dir:
        env["HANDOVER_DATA_DIR"] = data_dir
        usage_file = Path(data_dir) / "usage.json"
        runs = []
        for _ in range(3):
            subprocess.run(
                [sys.executable, "-c", _MEASURED, str(usage_file), handover, "verify", "--help"],
                env=env,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            runs.append(json.loads(usage_file.read_text())["cpu"])
    return min(runs[1:])


def _sqlite_reads(path: Path) -> dict[str, float]:
    """CPU seconds of SQLite alone handing over the rows the command asks for, through a bare
    ``sqlite3`` cursor and no check at all: the part of the command no Python code can save."""
    import sqlite3

    from handover.records.management.commands.verify import _SQLITE_COLUMNS_BODY

    chain = "SELECT id, order_id, body, prev_hash, hash{} FROM evidence_event ORDER BY order_id, id"
    queries = {
        "SQLite alone: the event rows in chain order, bare": chain.format(""),
        "SQLite alone: the same, each body compared with its columns (as the command asks)": (
            chain.format(f", {_SQLITE_COLUMNS_BODY}")
        ),
        "SQLite alone: the leaves by seq, with their event's body and hash (as the command asks)": (
            "SELECT l.seq, l.event_id, l.leaf_hash, e.body, e.hash FROM evidence_logentry l "
            "INNER JOIN evidence_event e ON e.id = l.event_id ORDER BY l.seq"
        ),
    }
    out = {}
    with sqlite3.connect(path) as db:
        for label, sql in queries.items():
            start = time.process_time()
            cursor = db.execute(sql)
            while cursor.fetchmany(2000):
                pass
            out[label] = time.process_time() - start
    return out


def _hash_each(bodies: list[bytes]) -> float:
    """The floor: CPU seconds of one hashlib.sha256 call per body."""
    import hashlib

    start = time.process_time()
    for body in bodies:
        hashlib.sha256(body).digest()
    return time.process_time() - start


def fill_log(n: int) -> None:
    """A fresh database holding ``stream_events(n)``, every event sequenced into the log and
    one tree head signed over them all (set-up, not measured)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from handover.evidence import merkle
    from handover.evidence.log import tree_head_sign
    from handover.evidence.models import Event, LogEntry

    call_command("migrate", interactive=False, verbosity=0)
    events: list = []
    entries: list = []

    def flush() -> None:
        with transaction.atomic():
            Event.objects.bulk_create(events)
            LogEntry.objects.bulk_create(entries)
        events.clear()
        entries.clear()

    # The orders and users the events name are not made: their foreign keys go unchecked.
    with connection.constraint_checks_disabled():
        for row in stream_events(n):
            event_id, order, type_, actor, role, when, payload, prev, body, digest = row
            events.append(
                Event(id=event_id, order_id=order, type=type_, actor_id=actor, actor_role=role,
                      created_at=when, payload=payload, body=body.decode(), prev_hash=prev,
                      hash=digest)
            )  # fmt: skip
            entries.append(
                LogEntry(seq=event_id - 1, event_id=event_id, leaf_hash=merkle.leaf_hash(body))
            )
            if len(events) == 5000:
                flush()
        flush()
    if tree_head_sign(force=True) is None:
        raise RuntimeError("no tree head signed")


# --- 2. inclusion proofs ---


def section_proof(plan: Plan, report: Report, log: Log) -> None:
    import hashlib

    from handover.evidence import merkle

    n = len(log.leaf_hashes)
    start = time.perf_counter()
    tree = merkle.MerkleTree(log.leaf_hashes)
    build_s = time.perf_counter() - start
    root = tree.root()
    rng = random.Random(2)
    picks = [rng.randrange(n) for _ in range(plan.proofs)]
    lengths = [len(tree.inclusion_proof(i)) for i in picks]
    # Older heads: a size between the leaf and now, their roots computed beforehand.
    older = [(i, rng.randint(i + 1, n)) for i in picks]
    roots = {size: tree.root(size) for _, size in older}
    older_lengths = [len(tree.inclusion_proof(i, size)) for i, size in older]
    leaves = log.leaf_hashes
    sha256 = hashlib.sha256
    left, right = leaves[0], leaves[-1]
    proofs = [tree.inclusion_proof(i) for i in picks]
    chunk = 250
    spans = [range(at, min(at + chunk, len(picks))) for at in range(0, len(picks), chunk)]

    def pairs(span: range) -> None:
        for k in span:
            i = picks[k]
            proof = tree.inclusion_proof(i)
            if not merkle.verify_inclusion(leaves[i], i, n, proof, root):
                raise RuntimeError(f"proof of leaf {i} did not verify")

    def build_only(span: range) -> None:
        for k in span:
            tree.inclusion_proof(picks[k])

    def verify_only(span: range) -> None:
        for k in span:
            i = picks[k]
            if not merkle.verify_inclusion(leaves[i], i, n, proofs[k], root):
                raise RuntimeError

    def floor(counts: list[int]) -> Callable[[range], None]:
        def hashes(span: range) -> None:
            for k in span:
                node = left
                for _ in range(counts[k]):
                    node = sha256(b"\x01" + node + right).digest()

        return hashes

    def older_pairs(span: range) -> None:
        for k in span:
            i, size = older[k]
            proof = tree.inclusion_proof(i, size)
            if not merkle.verify_inclusion(leaves[i], i, size, proof, roots[size]):
                raise RuntimeError(f"proof of leaf {i} in {size} did not verify")

    cases: dict[str, Callable[[range], None]] = {
        "pairs": pairs,
        "floor": floor(lengths),
        "build": build_only,
        "verify": verify_only,
        "older": older_pairs,
        "older floor": floor(older_lengths),
    }
    progress(f"proof: {plan.proof_rounds} rounds of {plan.proofs:,} proofs on {n:,} leaves")
    # Interleaved finely: every case runs on each chunk of 250 proofs in turn (the order
    # rotating), so all of them see the same share of whatever else the machine does.
    names = list(cases)
    cpu = {name: [0.0] * plan.proof_rounds for name in names}
    wall = {name: [0.0] * plan.proof_rounds for name in names}
    for r in range(plan.proof_rounds):
        for c, span in enumerate(spans):
            for name in rotated(tuple(names), r + c):
                spent, elapsed = clocked(partial(cases[name], span))
                cpu[name][r] += spent
                wall[name][r] += elapsed

    def us(name: str) -> float:
        return med(cpu[name]) / plan.proofs * 1e6

    def ratio(name: str, base: str) -> float:
        return med([a / b for a, b in zip(cpu[name], cpu[base], strict=True)])

    report.section(f"2. inclusion proofs: {plan.proofs:,} random leaves of a {n:,}-leaf tree")
    report.add(
        "build + verify one proof (current size)",
        f"{us('pairs'):.1f} µs",
        f"{us('floor'):.1f} µs ({statistics.fmean(lengths):.1f} SHA-256)",
        f"{ratio('pairs', 'floor'):.1f}x",
        f"< {TARGET_PROOF_US:.0f} µs",
        met=us("pairs") < TARGET_PROOF_US,
    )
    report.add("split: MerkleTree.inclusion_proof", f"{us('build'):.1f} µs")
    report.add(
        "split: merkle.verify_inclusion",
        f"{us('verify'):.1f} µs",
        f"{us('floor'):.1f} µs",
        f"{ratio('verify', 'floor'):.1f}x",
    )
    report.add(
        "info: build + verify against an older size (random, >= leaf + 1)",
        f"{us('older'):.1f} µs",
        f"{us('older floor'):.1f} µs ({statistics.fmean(older_lengths):.1f} SHA-256)",
        f"{ratio('older', 'older floor'):.1f}x",
        f"< {TARGET_PROOF_US:.0f} µs",
        met=us("older") < TARGET_PROOF_US,
    )
    report.add(f"info: MerkleTree({n:,} leaf hashes), built once", f"{build_s:.2f} s")
    wall_us = med(wall["pairs"]) / plan.proofs * 1e6
    report.notes.append(
        f"proof: CPU time, medians of {plan.proof_rounds} rounds, each case run on every chunk "
        f"of {chunk} proofs in turn; build + verify took {wall_us:.1f} µs per pair in wall "
        f"time ({_spread([c / plan.proofs * 1e6 for c in cpu['pairs']], 1)} µs CPU over rounds)."
    )


# --- 3. append through the API (a child process per database) ---


def section_append(plan: Plan, report: Report, args: argparse.Namespace) -> None:
    pg_url = os.environ.get("HANDOVER_BENCH_PG_URL", "")
    databases = ["sqlite"] + (["postgresql"] if pg_url else [])
    if not pg_url:
        report.notes.append("append: PostgreSQL skipped, HANDOVER_BENCH_PG_URL is not set.")
    for db in databases:
        progress(f"append: {db}, {plan.accepts} accepts per variant ...")
        try:
            result = run_child(db, args, pg_url)
        except Exception as error:  # report it, go on with the other database
            report.section(f"3. append on {db}: BROKEN")
            report.notes.append(f"append on {db} broke: {str(error)[-1500:]}")
            continue
        append_rows(report, db, result)


def run_child(db: str, args: argparse.Namespace, pg_url: str) -> dict:
    """One database in a fresh process, data directory and database, as bench/run.py does."""
    data_dir = tempfile.mkdtemp(prefix=f"handover-bench-evidence-{db}-")
    env = {**os.environ, "HANDOVER_DATA_DIR": data_dir}
    env["DJANGO_SETTINGS_MODULE"] = "handover.settings"
    env.pop("DATABASE_URL", None)
    dbname = ""
    try:
        if db == "postgresql":
            dbname = f"bench_{uuid.uuid4().hex[:12]}"
            lifecycle_bench.pg_admin(pg_url, f'CREATE DATABASE "{dbname}"')
            env["DATABASE_URL"] = lifecycle_bench.with_database(pg_url, dbname)
        command = [sys.executable, str(Path(__file__).resolve()), "--child", "append"]
        command += ["--quick"] if args.quick else []
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"child failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if dbname:
            lifecycle_bench.pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


VARIANTS = ("chain", "no chain", "no head read")


@contextmanager
def no_chain(variant: str) -> Iterator[None]:
    """``event_append`` without (part of) the chain, for one call; it looks these names up in
    its module at each call. "no chain" is the behaviour before the chain: no SELECT of the
    order's last hash, no canonical JSON body, no SHA-256, and a row with empty body,
    prev_hash and hash; the INSERT of the other columns and the notifications outbox stay.
    "no head read" drops only the SELECT of the order's last hash."""
    from handover.evidence import services

    saved = services._chain_head, services.event_body, services.event_hash
    if variant != "chain":
        services._chain_head = lambda order_id: ""
    if variant == "no chain":
        services.event_body = lambda **fields: b""
        services.event_hash = lambda body: ""
    try:
        yield
    finally:
        services._chain_head, services.event_body, services.event_hash = saved


def measure_append(plan: Plan) -> dict:
    ids = lifecycle_bench.setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from handover.evidence import keys
    from handover.evidence.chain import tree_head_message
    from handover.evidence.log import log_sequence, tree_head_sign
    from handover.evidence.models import Event, EventType
    from handover.evidence.services import event_append
    from handover.notifications.models import Outbox
    from handover.notifications.services import webhook_create
    from handover.orders.models import Order

    users = get_user_model().objects
    buyer = users.get(username="bench-buyer")
    # Both parties have a webhook for every event: each event writes outbox rows.
    for name in ("bench-buyer", "bench-seller"):
        webhook_create(owner=users.get(username=name), url=f"https://hooks.example.com/{name}",
                       events=[])  # fmt: skip
    send = lifecycle_bench._inproc_sender()
    for _ in range(plan.warmup):
        lifecycle_bench.lifecycle(send, ids)

    def delivered() -> int:
        """An order placed, paid and delivered through the API, ready to accept."""
        brief = {"offer_id": int(ids["offer_id"]), "answers": ["A brief."]}
        status, order = send("POST", "/orders", ids["buyer"], payload=brief)
        assert status == 201, order
        order_id = order["id"]
        status, answer = send("POST", f"/orders/{order_id}/pay", ids["buyer"])
        assert status == 200, answer
        files = {"files": ("work.txt", os.urandom(512).hex().encode())}
        status, answer = send("POST", f"/orders/{order_id}/deliveries", ids["seller"],
                              form={"text": "Done."}, files=files)  # fmt: skip
        assert status == 201, answer
        return order_id

    def accept(order_id: int) -> float:
        start = time.perf_counter()
        status, answer = send("POST", f"/orders/{order_id}/accept", ids["buyer"])
        elapsed = time.perf_counter() - start
        if status != 200:
            raise RuntimeError(f"accept: {status} {answer}")
        return elapsed

    ready = [delivered() for _ in range(plan.accepts * len(VARIANTS) + 2 * len(VARIANTS))]
    for variant in VARIANTS:  # once each, unmeasured; then one more for its queries
        with no_chain(variant):
            accept(ready.pop())
    queries = {}
    for variant in VARIANTS:
        with no_chain(variant), CaptureQueriesContext(connection) as captured:
            accept(ready.pop())
        queries[variant] = len(captured)
    accept_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    for n in range(plan.accepts):
        for variant in rotated(VARIANTS, n):
            with no_chain(variant):
                before = time.process_time()
                accept_ms[variant].append(accept(ready.pop()) * 1000)
                cpu[variant] += time.process_time() - before

    # event_append on its own, in a transaction each, on the orders just completed.
    orders = list(Order.objects.order_by("-id")[:20])
    append_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for n in range(plan.appends):
        for variant in rotated(VARIANTS, n):
            order = orders[n % len(orders)]
            with no_chain(variant), transaction.atomic():
                start = time.perf_counter()
                message = {"message_id": n, "body": MESSAGES[n % 5]}
                event_append(order=order, type=EventType.MESSAGE_POSTED, actor=buyer,
                             actor_role="buyer", payload=message)  # fmt: skip
                append_us[variant].append((time.perf_counter() - start) * 1e6)
    outbox_per_event = Outbox.objects.count() / Event.objects.count()

    out: dict = {
        "engine": ids["engine"],
        "server_version": ids["server_version"],
        "accept_ms": accept_ms,
        "accept_cpu_ms": {v: cpu[v] / plan.accepts * 1000 for v in VARIANTS},
        "queries": queries,
        "append_us": append_us,
        "outbox_per_event": outbox_per_event,
    }

    # log_sequence over everything so far, then over a larger log.
    def read_all() -> int:
        return len(list(Event.objects.order_by("id").values_list("id", "body")))

    def sequence_round(label: str) -> None:
        start = time.perf_counter()
        count = read_all()
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        sequenced = log_sequence(limit=10**9)
        sequence_s = time.perf_counter() - start
        start = time.perf_counter()
        read_all()
        read_s = (read_s + time.perf_counter() - start) / 2
        idle = []
        for _ in range(5):
            start = time.perf_counter()
            if log_sequence():
                raise RuntimeError("nothing new was expected")
            idle.append(time.perf_counter() - start)
        out[label] = {
            "events": count,
            "sequenced": sequenced,
            "sequence_s": sequence_s,
            "read_s": read_s,
            "idle_s": statistics.median(idle),
        }

    sequence_round("sequence_small")
    empty = Event.objects.filter(body="").count()
    out["empty_bodies"] = empty
    bulk_events(plan.bulk_events)
    sequence_round("sequence_large")
    out["plan"] = _explain(connection)

    # Signing: the first after start builds the tree from every leaf row; later ones extend it.
    start = time.perf_counter()
    head = tree_head_sign(force=True)
    out["sign_cold_s"] = time.perf_counter() - start
    out["tree_size"] = head.size if head else 0
    sign_warm, sign_only = [], []
    order = orders[0]
    for n in range(plan.sign_rounds):
        with transaction.atomic():
            for k in range(20):
                text = {"message_id": k, "body": "Hello."}
                event_append(order=order, type=EventType.MESSAGE_POSTED, actor=buyer,
                             actor_role="buyer", payload=text)  # fmt: skip
        log_sequence()
        signed = tree_head_message(size=n, root="00" * 32, signed_at="now", key_id="k")
        cases = (("warm", partial(tree_head_sign, force=True)),
                 ("sign", partial(keys.sign, signed)))  # fmt: skip
        for name, fn in rotated(cases, n):
            start = time.perf_counter()
            made = fn()
            (sign_warm if name == "warm" else sign_only).append(time.perf_counter() - start)
            if name == "warm" and made is None:
                raise RuntimeError("tree_head_sign signed nothing")
    out["sign_warm_ms"] = statistics.median(sign_warm) * 1000
    out["sign_only_ms"] = statistics.median(sign_only) * 1000
    return out


def bulk_events(count: int) -> None:
    """``count`` more event rows, chained per order with bodies as ``event_append`` makes them,
    inserted in bulk (the set-up of the larger log, not a measure)."""
    from django.db import transaction
    from django.utils import timezone

    from handover.evidence.chain import event_body, event_hash
    from handover.evidence.models import Event
    from handover.evidence.services import _chain_head
    from handover.orders.models import Order

    order_ids = list(Order.objects.values_list("id", flat=True))
    heads = {o: _chain_head(o) for o in order_ids}
    rng = random.Random(3)
    batch: list = []
    for n in range(count):
        order_id = order_ids[n % len(order_ids)]
        now = timezone.now()
        payload = {"message_id": 10**6 + n, "body": MESSAGES[rng.randrange(5)]}
        body = event_body(order_id=order_id, type="message.posted", actor_id=None,
                          actor_role="buyer", created_at=now.isoformat(), payload=payload,
                          prev_hash=heads[order_id])  # fmt: skip
        digest = event_hash(body)
        batch.append(Event(order_id=order_id, type="message.posted", actor_role="buyer",
                           created_at=now, payload=payload, body=body.decode(),
                           prev_hash=heads[order_id], hash=digest))  # fmt: skip
        heads[order_id] = digest
        if len(batch) == 5000 or n == count - 1:
            with transaction.atomic():
                Event.objects.bulk_create(batch)
            batch = []


def _explain(connection) -> str:
    """How the database runs log_sequence's query for unsequenced events."""
    from handover.evidence.models import Event

    # As log_sequence asks: above the highest sequenced event (0 here, the plan is the same).
    query = (
        Event.objects.filter(id__gt=0, log_entry__isnull=True)
        .order_by("id")
        .values_list("id", "body")
    )
    sql, params = query[:5000].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "; ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN {sql}", params)
        return "; ".join(str(row[0]).strip() for row in cursor.fetchall())


def append_rows(report: Report, db: str, r: dict) -> None:
    report.section(f"3. append on {db} {r['server_version']} (django.test.Client, 1 process)")
    acc = r["accept_ms"]
    chain, plain, nohead = acc["chain"], acc["no chain"], acc["no head read"]
    for p in (50, 99):
        ours, base = percentile(chain, p), percentile(plain, p)
        report.add(
            f"POST /orders/{{id}}/accept p{p}: chain vs no chain",
            f"{ours:.1f} ms",
            f"{base:.1f} ms",
            f"{ours / base:.2f}x",
            "< 50 ms" if p == 99 else "-",
            met=ours < 50 if p == 99 else None,
        )
    rate, rate_base = 1000 / statistics.fmean(chain), 1000 / statistics.fmean(plain)
    report.add("accept calls/s, back to back", f"{rate:.1f}/s", f"{rate_base:.1f}/s",
               f"{rate / rate_base:.2f}x")  # fmt: skip
    cpu = r["accept_cpu_ms"]
    report.add("CPU ms per accept", f"{cpu['chain']:.1f}", f"{cpu['no chain']:.1f}",
               f"{cpu['chain'] / cpu['no chain']:.2f}x")  # fmt: skip
    q = r["queries"]
    report.add("SQL queries per accept", str(q["chain"]), str(q["no chain"]),
               f"+{q['chain'] - q['no chain']}")  # fmt: skip
    report.add(
        "info: accept p50, no head read (only the SELECT dropped)",
        f"{percentile(nohead, 50):.1f} ms",
        f"{percentile(plain, 50):.1f} ms",
        f"{percentile(nohead, 50) / percentile(plain, 50):.2f}x",
    )
    app = r["append_us"]
    for p in (50, 99):
        ours, base = percentile(app["chain"], p), percentile(app["no chain"], p)
        report.add(f"event_append alone p{p} (in its transaction)", f"{ours:.0f} µs",
                   f"{base:.0f} µs", f"{ours / base:.2f}x")  # fmt: skip
    head_only = percentile(app["no head read"], 50)
    base = percentile(app["no chain"], 50)
    report.add("info: event_append p50, no head read", f"{head_only:.0f} µs", f"{base:.0f} µs",
               f"{head_only / base:.2f}x")  # fmt: skip
    for label in ("sequence_small", "sequence_large"):
        s = r[label]
        rate = s["sequenced"] / s["sequence_s"]
        report.add(
            f"log_sequence: {s['sequenced']:,} new events (log of {s['events']:,})",
            f"{rate:,.0f} events/s ({s['sequence_s']:.2f} s)",
            f"read (id, body): {s['read_s'] * 1000:.0f} ms",
            f"{s['sequence_s'] / s['read_s']:.1f}x",
        )
    for label in ("sequence_small", "sequence_large"):
        s = r[label]
        report.add(
            f"log_sequence with nothing new (worker tick), log of {s['events']:,}",
            f"{s['idle_s'] * 1000:.1f} ms",
        )
    report.add(
        f"tree_head_sign(force=True), first in the process ({r['tree_size']:,} leaves)",
        f"{r['sign_cold_s'] * 1000:.0f} ms",
        f"keys.sign: {r['sign_only_ms']:.2f} ms",
        f"{r['sign_cold_s'] * 1000 / r['sign_only_ms']:.0f}x",
    )
    report.add(
        "tree_head_sign(force=True), 20 leaves later",
        f"{r['sign_warm_ms']:.1f} ms",
        f"keys.sign: {r['sign_only_ms']:.2f} ms",
        f"{r['sign_warm_ms'] / r['sign_only_ms']:.1f}x",
    )
    report.notes.append(
        f"append on {db}: {len(chain)} accepts per variant, rotated; each event wrote "
        f"{r['outbox_per_event']:.1f} outbox rows on average (a webhook per party, e-mails); "
        f"{r['empty_bodies']:,} of the sequenced events are the no-chain variant's, with "
        f"empty bodies. log_sequence's query plan: {r['plan']}"
    )


# --- main ---


def machine_lines(plan: Plan) -> list[str]:
    load = os.getloadavg()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs,"
        f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {plan.events:,} events;"
        f" peak RSS {rss:.0f} MiB",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 events, few samples")
    parser.add_argument("--events", type=int, help="events in the log (1,000,000; quick 50,000)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--child", choices=["append", "fill"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    if args.events:
        plan = Plan(**{**plan.__dict__, "events": args.events})
    if args.child == "fill":
        fill_log(plan.events)
        return
    if args.child:
        print(json.dumps(measure_append(plan)))
        return
    started = time.perf_counter()
    report = Report()
    load_before = os.getloadavg()[0]
    log = None
    if {"verify", "proof"} & set(args.only):
        progress(f"building {plan.events:,} events in memory ...")
        start = time.perf_counter()
        log = build_log(plan.events)
        gc.collect()
        gc.freeze()  # the log is kept for the run: no collection walks its million objects
        report.notes.append(f"built the log in memory in {time.perf_counter() - start:.0f} s.")
    sections: dict[str, Callable[[], None]] = {
        "verify": lambda: section_verify(plan, report, log),
        "command": lambda: section_command(plan, report),
        "proof": lambda: section_proof(plan, report, log),
        "append": lambda: section_append(plan, report, args),
    }
    for name in SECTIONS:
        if name not in args.only:
            continue
        try:
            sections[name]()
        except Exception:
            report.section(f"{name}: BROKEN")
            report.notes.append(f"{name} broke: {traceback.format_exc()[-1500:]}")
    print()
    for line in machine_lines(plan):
        print(line)
    print(f"load average before {load_before:.2f}; wall {time.perf_counter() - started:.0f} s")
    print()
    report.print()


if __name__ == "__main__":
    main()
