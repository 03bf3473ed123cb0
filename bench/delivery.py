"""Protected delivery against its baselines: previews, upload ingestion and downloads.

    .venv/bin/python bench/delivery.py            the full run (8 to 10 minutes, ~10 GB of disk)
    .venv/bin/python bench/delivery.py --quick    small files, few repetitions (under a minute)
    .venv/bin/python bench/delivery.py --only image pdf
    .venv/bin/python bench/delivery.py --only ingest --profile    adds a server-side profile

Prints one markdown table (measure, ours, baseline, ratio, target, met?) and exits 0: it reports
misses, it does not fail on them. A section that breaks is reported as broken and the others go
on. Each target and its baseline are measured in the same run, interleaved (the order rotates
every repetition), and reported as medians, because the machine is two slow shared cores.

Sections (their test files are made in a temp dir on the spot, and removed at exit):

- image: a 24 MP photo-like JPEG -> ``previews.image.make`` against ImageMagick ``convert`` doing
  the same job (fit 1600x1600, tiled translucent text watermark, JPEG q80) and against a bare
  full-size Pillow decode. Peak memory of our sandboxed child from a fresh process's
  RUSAGE_CHILDREN (see ``delivery_previews.child_image_rss``).
- pdf: a 50-page A4 text PDF -> 3 watermarked pages, against bare PDFium rendering them.
- video / audio: a 20 s 1080p clip and a 5 min MP3 -> their previews, against plain ffmpeg
  doing the same transcode without watermark, probe or poster; as multiples of real time.
- ingest: a 1 GiB upload to `handover serve` against a Python copy-and-SHA-256 loop: UTF-8
  text with accented letters on every line (the target), pure ASCII text and a stored zip
  (what validating text costs); the server workers' CPU per GiB; the workers' peak RSS
  (VmHWM) after a 100 MiB and then a 4 GiB upload. --profile adds a cProfile of one upload.
- download: a 1 GiB original (a) through the app (gunicorn sendfile), (b) with
  X-Accel-Redirect behind nginx, against (c) nginx serving the file itself; app CPU per GiB
  from /proc/PID/stat, VmHWM, and a Range request.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/ is sys.path[0] when this runs as a script.
import delivery_http as net  # noqa: E402
import delivery_previews as previews  # noqa: E402
import delivery_server as server  # noqa: E402
from delivery_measure import QUICK, Context, Plan, Report, progress  # noqa: E402

SECTIONS = ("image", "pdf", "video", "audio", "ingest", "download")


# --- the report ---


def machine_lines(quick: bool) -> list[str]:
    import pyvips

    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return [
        f"{'--quick smoke run' if quick else 'full run'}; "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        f"uptime before: {uptime}",
    ]


def print_report(report: Report, header: list[str], wall: float) -> None:
    print()
    for line in header:
        print(line)
    print()
    print("| measure | ours | baseline | ratio | target | met? |")
    print("|---|---:|---:|---:|---|---|")
    for r in report.rows:
        print(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |")
    print()
    for note in report.notes:
        print(f"- {note}")
    for text in report.profiles:
        print()
        print("```")
        print(text)
        print("```")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; wall time {wall:.0f} s")


RUNNERS: dict[str, Callable[[Context], None]] = {
    "image": previews.section_image,
    "pdf": previews.section_pdf,
    "video": previews.section_video,
    "audio": previews.section_audio,
    "ingest": server.section_ingest,
    "download": server.section_download,
}


def run_children(args: list[str]) -> None:
    name, rest = args[0], args[1:]
    if name == "setup":
        out = server.child_setup()
    elif name == "image-rss":
        out = previews.child_image_rss(*rest)
    elif name == "decode-rss":
        out = previews.child_decode_rss(*rest)
    elif name == "rss":
        out = previews.child_rss(rest)
    else:
        raise SystemExit(f"unknown child {name}")
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small files, few repetitions")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, metavar="NAME", help=" ".join(SECTIONS)
    )
    parser.add_argument("--profile", action="store_true", help="profile one upload server-side")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_children(args.child)
        return
    # Ctrl-C and SIGTERM end the run through the clean-up below (SIGINT too when started in
    # the background by a shell, which would have it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    header = machine_lines(args.quick)
    if args.quick:
        header.append(
            "--quick only shows that every part works: its files are too small for the speeds, "
            "the CPU per GiB and the memory figures to mean anything."
        )
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="handover-bench-delivery-"))
    report = Report()
    ctx = Context(
        plan=QUICK if args.quick else Plan(), tmp=tmp, report=report, profile=args.profile
    )
    try:
        for name in args.only or SECTIONS:
            progress(f"{name} ...")
            try:
                RUNNERS[name](ctx)
            except Exception as exc:
                report.add(f"{name}: BROKEN", f"{type(exc).__name__}: {str(exc)[:200]}", met=False)
                report.notes.append(f"{name} broke:\n\n```\n{traceback.format_exc()[-3000:]}```")
                logs = sorted(tmp.glob("serve-*.log"))
                for log in logs:
                    tail = log.read_text(errors="replace")[-1500:]
                    report.notes.append(f"{log.name} (end):\n\n```\n{tail}\n```")
                    log.unlink()
    finally:
        net.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print_report(report, header, time.perf_counter() - started)


if __name__ == "__main__":
    main()
