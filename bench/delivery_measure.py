"""What bench/delivery.py's sections share: the plan (full or --quick), the report's rows, and
timing by interleaved rounds with the CPU of this process and its children."""

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "delivery.py"

LABEL = "PREVIEW · order 123 · buyer alice"
MIB = 1024 * 1024
GIB = 1024 * MIB
PASSWORD = "bench-password-not-secret"


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions: the full run, or a smoke run with --quick."""

    photo: tuple[int, int] = (6000, 4000)
    image_reps: int = 5
    pdf_pages: int = 50
    pdf_reps: int = 21
    video_s: int = 20
    video_reps: int = 4
    audio_s: int = 300
    audio_reps: int = 5
    ingest_size: int = GIB
    ingest_reps: int = 3
    memory_sizes: tuple[int, int] | None = (100 * MIB, 4 * GIB)
    download_size: int = GIB
    download_reps: int = 15


QUICK = Plan(
    photo=(3000, 2000),
    image_reps=2,
    pdf_reps=5,
    video_s=2,
    video_reps=1,
    audio_s=40,
    audio_reps=2,
    ingest_size=48 * MIB,
    ingest_reps=2,
    memory_sizes=None,
    download_size=48 * MIB,
    download_reps=2,
)


@dataclass
class Row:
    measure: str
    ours: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    met: str = "-"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

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
        self.rows.append(Row(measure, ours, baseline, ratio, target, verdict))


@dataclass
class Context:
    plan: Plan
    tmp: Path
    report: Report
    profile: bool
    stack: dict | None = None  # the Django data dir and bench accounts, made once
    servers: dict | None = None  # "app" plain, "accel" for nginx: started once, together

    def path(self, name: str) -> Path:
        return self.tmp / name


# --- measuring ---


@dataclass
class Sample:
    wall: float
    cpu: float  # this process and the children it waited for


def timed(fn: Callable[[], object]) -> Sample:
    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        getattr(after, f) - getattr(before, f)
        for before, after in ((before_self, after_self), (before_children, after_children))
        for f in ("ru_utime", "ru_stime")
    )
    return Sample(wall, cpu)


def interleaved(cases: dict[str, Callable[[], object]], reps: int) -> dict[str, list[Sample]]:
    """Each case once unmeasured, then ``reps`` rounds, each starting with the next case."""
    for fn in cases.values():
        fn()
    samples: dict[str, list[Sample]] = {name: [] for name in cases}
    names = list(cases)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            samples[name].append(timed(cases[name]))
    return samples


def median_wall(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def median_cpu(samples: list[Sample]) -> float:
    return statistics.median(s.cpu for s in samples)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(samples: list[Sample]) -> str:
    return f"{median_wall(samples) * 1000:.0f} ms (CPU {median_cpu(samples) * 1000:.0f})"


def run_child(*args: str, env: dict[str, str] | None = None) -> dict:
    """This script in a fresh interpreter (``--child ...``); its last line of output, as JSON."""
    command = [sys.executable, str(SCRIPT), "--child", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"child {args[0]} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
