"""Before and after in one run: `./run bench --compare REF`.

The commit REF is unpacked (git archive) into a temporary folder and measured by its own
bench/run.py, beside this tree, in the parallel mode (one django.test.Client per process, as
many processes as --procs: 2 clients on this machine's 2 cores). On SQLite this tree is also
measured with Django's own backend instead of its writer queue (handover/lib/sqlite), so the
two ways SQLite's writers wait are compared on the same code. The variants run interleaved,
``--rounds`` times each, so that a neighbour's load falls on all of them alike; each variant's
rounds are pooled.
"""

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from run import ROOT, percentile, run_child

MIN_LIFECYCLES_PER_S = 30  # issue 12: with 2 clients, on SQLite and on PostgreSQL
MAX_TRANSITION_P99_MS = 100


def compare(args: argparse.Namespace, databases: list[str], pg_url: str) -> None:
    before = unpack(args.compare)
    try:
        variants = []
        for db in databases:
            variants.append((f"{db}, before ({args.compare})", db, before, {}))
            variants.append((f"{db}, after", db, ROOT, {}))
            if db == "sqlite":
                plain = {"HANDOVER_BENCH_SQLITE_ENGINE": "django.db.backends.sqlite3"}
                variants.append(("sqlite, after with Django's busy wait", db, ROOT, plain))
        pooled: dict[str, list[dict]] = {label: [] for label, *_ in variants}
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        for _ in range(args.rounds):
            for label, db, tree, env in variants:
                pooled[label].append(run_child("parallel", db, args, pg_url, tree, env))
        load = (load_before, os.getloadavg()[0])
        report(pooled, args, time.perf_counter() - started, load)
    finally:
        shutil.rmtree(before, ignore_errors=True)


def unpack(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="handover-bench-before-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def pool(rounds: list[dict]) -> dict:
    return {
        "lifecycles": sum(r["lifecycles"] for r in rounds),
        "lifecycle_s": sum(r["lifecycle_s"] for r in rounds),
        "baseline_sets": sum(r["baseline_sets"] for r in rounds),
        "baseline_s": sum(r["baseline_s"] for r in rounds),
        "accept_ms": [ms for r in rounds for ms in r["accept_ms"]],
        "me_ms": [ms for r in rounds for ms in r["me_ms"]],
        "rates": [r["lifecycles"] / r["lifecycle_s"] for r in rounds],
        "server_version": rounds[0]["server_version"],
    }


ROWS = [
    ("lifecycles measured", lambda r: f"{r['lifecycles']}"),
    ("lifecycles/s, 2 clients", lambda r: f"{r['lifecycles'] / r['lifecycle_s']:.1f}"),
    ("lifecycles/s, each round", lambda r: " / ".join(f"{x:.1f}" for x in r["rates"])),
    ("transition (accept) p50 ms", lambda r: f"{percentile(r['accept_ms'], 50):.1f}"),
    ("transition (accept) p99 ms", lambda r: f"{percentile(r['accept_ms'], 99):.1f}"),
    ("baseline sets/s (4 x GET /me)", lambda r: f"{r['baseline_sets'] / r['baseline_s']:.1f}"),
    ("GET /me p99 ms", lambda r: f"{percentile(r['me_ms'], 99):.1f}"),
]


def report(pooled: dict[str, list[dict]], args: argparse.Namespace, wall_s: float, load) -> None:
    results = {label: pool(rounds) for label, rounds in pooled.items()}
    print(f"\n{args.rounds} rounds of {args.parallel_s:.0f} s per variant, {args.procs} processes;")
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"load average before {load[0]:.2f}, after {load[1]:.2f}")
    for label, r in results.items():
        print(f"{label}: {r['server_version']}")
    print()
    print("| measure | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for name, cell in ROWS:
        print(f"| {name} | " + " | ".join(cell(r) for r in results.values()) + " |")
    print()
    for label, r in results.items():
        rate, p99 = r["lifecycles"] / r["lifecycle_s"], percentile(r["accept_ms"], 99)
        rate_met = "met" if rate >= MIN_LIFECYCLES_PER_S else "MISSED"
        p99_met = "met" if p99 < MAX_TRANSITION_P99_MS else "MISSED"
        print(
            f"{label}: >= {MIN_LIFECYCLES_PER_S} lifecycles/s {rate_met}, "
            f"transition p99 < {MAX_TRANSITION_P99_MS} ms {p99_met}"
        )
    print(f"\nwall time {wall_s:.0f} s")
