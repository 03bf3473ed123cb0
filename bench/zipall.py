""" "Download all" (one ZIP of a delivery's originals, written as it is sent) against sending
the same bytes as one file through the same server.

    .venv/bin/python bench/zipall.py             2 GiB in 50 files, 5 rounds (about 3 minutes)
    .venv/bin/python bench/zipall.py --quick     64 MiB, 2 rounds: shows that every part works

One `handover serve` (gunicorn, HANDOVER_WEB_WORKERS x HANDOVER_WEB_THREADS) on loopback, on a
fresh data directory. One text file of the total size is uploaded twice: whole, as one
original, and cut in 50 parts as one delivery of 50 files, so both downloads carry exactly the
same bytes. Measured in interleaved rounds (medians; the first round of each is not counted):

- (z) GET /api/v1/deliveries/{id}/originals.zip: the archive, CRC-32 on the way (ISA-L);
- (o) GET /api/v1/files/{id}/original: the one file, which gunicorn sends with sendfile().

Also: each way's server CPU per GiB, the workers' peak RSS (VmHWM) before and after, the
archive checked once (every CRC, every byte against the source), and the writer alone in this
process: ``zipfile`` on a non-seekable stream against ``delivery.zipstream``, same bytes, to
a sink, which is why the archive does not use ``zipfile`` (its CRC is zlib's).

Prints one markdown table (measure, ours, baseline, ratio, target, met?) and exits 0.
"""

import argparse
import hashlib
import http.client
import io
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import delivery_http as net  # noqa: E402
import delivery_media as media  # noqa: E402
from delivery_measure import GIB, MIB, Report, interleaved, progress, run_child  # noqa: E402

from handover.delivery.zipstream import Entry, ZipLayout, zip_chunks  # noqa: E402

PARTS = 50
TARGET = 0.80  # of the one file's throughput (issue 13)


def upload_parts(port: int, order_id: int, token: str, src: Path, parts: int) -> dict:
    """One delivery of ``parts`` files, the source cut in equal runs of whole blocks, the
    multipart body streamed from disk."""
    size = src.stat().st_size
    cuts = [size * i // parts for i in range(parts + 1)]
    boundary = uuid.uuid4().hex
    heads = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="part-{i + 1:02d}.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        for i in range(parts)
    ]
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(map(len, heads)) + size + 2 * (parts - 1) + len(tail)

    def body() -> Iterator[bytes]:
        with src.open("rb", buffering=0) as source:
            for i, head in enumerate(heads):
                yield (b"\r\n" if i else b"") + head
                left = cuts[i + 1] - cuts[i]
                while left:
                    chunk = source.read(min(MIB, left))
                    left -= len(chunk)
                    yield chunk
        yield tail

    headers = {
        "Authorization": token,
        "Idempotency-Key": uuid.uuid4().hex,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    try:
        connection.request("POST", f"/api/v1/orders/{order_id}/deliveries", body(), headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    if response.status != 201 or len(answer["files"]) != parts:
        raise RuntimeError(f"the {parts}-file delivery answered {response.status}: {answer}")
    return answer


def check_archive(port: int, path: str, token: str, src: Path, tmp: Path) -> str:
    """Download the archive once to disk; every CRC and every byte against the source."""
    archive = tmp / "all.zip"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", path, headers={"Authorization": token})
    response = connection.getresponse()
    with archive.open("wb") as out:
        shutil.copyfileobj(response, out, MIB)
    connection.close()
    length = response.getheader("Content-Length", "")
    if response.status != 200 or str(archive.stat().st_size) != length:
        return f"{response.status}, {archive.stat().st_size} bytes of {length}: WRONG"
    digest = hashlib.sha256()
    with zipfile.ZipFile(archive) as zipped:
        if zipped.testzip() is not None:
            return "a CRC does not match"
        names = zipped.namelist()
        for name in names:
            with zipped.open(name) as member:
                while chunk := member.read(MIB):
                    digest.update(chunk)
    archive.unlink()
    whole = hashlib.sha256()
    with src.open("rb") as source:
        while chunk := source.read(MIB):
            whole.update(chunk)
    same = digest.hexdigest() == whole.hexdigest()
    return f"{len(names)} files, CRCs good, bytes {'the same' if same else 'DIFFERENT'}"


def writers_alone(src: Path, parts: int) -> dict[str, float]:
    """MiB/s of each writer turning the same parts (from the page cache) into an archive."""
    size = src.stat().st_size
    cuts = [size * i // parts for i in range(parts + 1)]
    when = datetime.now(UTC)

    def blocks(index: int) -> Iterator[bytes]:
        with src.open("rb", buffering=0) as source:
            source.seek(cuts[index])
            left = cuts[index + 1] - cuts[index]
            while left:
                chunk = source.read(min(MIB, left))
                left -= len(chunk)
                yield chunk

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            return len(b)

    def with_zipfile() -> None:
        with zipfile.ZipFile(Sink(), "w", zipfile.ZIP_STORED) as archive:
            for i in range(parts):
                info = zipfile.ZipInfo(f"part-{i + 1:02d}.txt", when.timetuple()[:6])
                info.file_size = cuts[i + 1] - cuts[i]
                with archive.open(info, "w") as member:
                    for block in blocks(i):
                        member.write(block)

    def with_zipstream() -> None:
        entries = [
            Entry(f"part-{i + 1:02d}.txt", cuts[i + 1] - cuts[i], when) for i in range(parts)
        ]
        for _ in zip_chunks(ZipLayout(entries), blocks, lambda *a: None):
            pass

    samples = interleaved({"zipfile": with_zipfile, "zipstream": with_zipstream}, 3)
    return {n: size / MIB / statistics.median(s.wall for s in v) for n, v in samples.items()}


def measure(args: argparse.Namespace, tmp: Path, report: Report) -> None:
    size = args.size_mib * MIB
    data_dir = tmp / "data"
    data_dir.mkdir()
    progress("migrating a fresh database")
    ids = run_child("setup", env=net.base_env(data_dir))
    app = net.Handover(data_dir, tmp / "serve.log").start()
    src = tmp / "work.txt"
    media.text_file(src, size)
    progress(f"uploading {args.size_mib} MiB as one file, then as {PARTS} files")
    single_order = net.paid_order(app.port, ids)
    single = net.upload(app.port, single_order, ids["seller"], src, "work.txt")
    if single.status != 201:
        raise RuntimeError(f"the one-file delivery answered {single.status}: {single.answer}")
    many_order = net.paid_order(app.port, ids)
    many = upload_parts(app.port, many_order, ids["seller"], src, PARTS)
    zip_path = f"/api/v1/deliveries/{many['id']}/originals.zip"
    one_path = f"/api/v1/files/{single.answer['files'][0]['id']}/original"
    token = ids["seller"]
    progress("checking the archive once")
    checked = check_archive(app.port, zip_path, token, src, tmp)
    report.add(
        f"zip: the archive of {PARTS} files, read back",
        checked,
        target="every CRC and byte right",
        met="the same" in checked,
    )
    for _ in range(2 * len(app.workers())):  # every worker has run both paths once
        net.download(app.port, one_path, token, range_="bytes=0-99")
    hwm_before = app.hwm_mib()
    speeds: dict[str, list[float]] = {"z": [], "o": []}
    cpu: dict[str, list[float]] = {"z": [], "o": []}
    paths = {"z": zip_path, "o": one_path}

    def way(name: str):
        def run() -> None:
            before = app.cpu()
            got = net.download(app.port, paths[name], token)
            if got.status != 200 or got.size < size:
                raise RuntimeError(f"({name}): {got.status}, {got.size} bytes")
            cpu[name].append((app.cpu() - before) * GIB / size)
            speeds[name].append(size / MIB / got.seconds)

        return run

    progress(f"{args.rounds} rounds of both downloads")
    interleaved({"z": way("z"), "o": way("o")}, args.rounds)
    hwm_after = app.hwm_mib()
    speed = {n: statistics.median(v[1:]) for n, v in speeds.items()}
    ratio = speed["z"] / speed["o"]
    report.add(
        f"zip: download all, {args.size_mib // 1024 or args.size_mib} "
        f"{'GiB' if args.size_mib >= 1024 else 'MiB'} in {PARTS} files, MiB/s",
        f"{speed['z']:.0f} MiB/s",
        f"{speed['o']:.0f} MiB/s (the same bytes as one file, sendfile)",
        f"{ratio:.0%}",
        f">= {TARGET:.0%}",
        met=ratio >= TARGET,
    )
    for name, label in (("z", "download all"), ("o", "one file")):
        report.add(
            f"zip: app CPU s per GiB, {label}",
            f"{statistics.median(cpu[name][1:]):.3f} s",
        )
    small, large = max(hwm_before.values()), max(hwm_after.values())
    report.add(
        "zip: app worker peak RSS (VmHWM) before vs after the downloads",
        f"{small:.0f} -> {large:.0f} MiB (+{large - small:.1f})",
        target="flat (within 20 MB)",
        met=(large - small) * MIB <= 20e6,
    )
    for name, values in speeds.items():
        report.notes.append(f"({name}) MiB/s, each round: {', '.join(f'{v:.0f}' for v in values)}")
    progress("the writers alone")
    alone = writers_alone(src, PARTS)
    report.add(
        "zip: the writer alone, page cache to a sink, MiB/s",
        f"{alone['zipstream']:.0f} MiB/s (zipstream, ISA-L CRC)",
        f"{alone['zipfile']:.0f} MiB/s (zipfile, zlib CRC)",
        f"{alone['zipstream'] / alone['zipfile']:.1f}x",
    )
    app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB, 2 rounds")
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.rounds = 64, 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="handover-bench-zipall-"))
    report = Report()
    started = time.perf_counter()
    uptime = os.getloadavg()[0]
    try:
        measure(args, tmp, report)
    finally:
        net.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n{'--quick smoke run' if args.quick else 'full run'}; "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"load average before {uptime:.2f}\n"
    )
    print("| measure | ours | baseline | ratio | target | met? |")
    print("|---|---:|---:|---:|---|---|")
    for r in report.rows:
        print(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |")
    print()
    for note in report.notes:
        print(f"- {note}")
    wall = time.perf_counter() - started
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; wall {wall:.0f} s")


if __name__ == "__main__":
    main()
