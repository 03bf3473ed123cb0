"""The server sections of bench/delivery.py: ingest (streamed uploads to `handover serve`) and
download (through the app, through nginx with X-Accel-Redirect, and nginx alone)."""

import hashlib
import pstats
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import delivery_http as net
import delivery_media as media
from delivery_measure import (
    GIB,
    MIB,
    PASSWORD,
    Context,
    Sample,
    interleaved,
    median_cpu,
    median_wall,
    progress,
    run_child,
)

ROOT = Path(__file__).resolve().parent.parent


# --- the server: one data dir, accounts and an offer, shared by ingest and download ---


def stack(ctx: Context) -> dict:
    if ctx.stack is None:
        data_dir = ctx.path("data")
        data_dir.mkdir()
        progress("server: migrating a fresh database")
        ids = run_child("setup", env=net.base_env(data_dir))
        ctx.stack = {"data_dir": data_dir, "ids": ids}
    return ctx.stack


def servers(ctx: Context) -> dict[str, net.Handover]:
    """The plain app server (ingest, download (a)) and, when nginx is there, the one that
    answers with X-Accel-Redirect (download (b)); both on the same data dir."""
    if ctx.servers is None:
        data_dir = stack(ctx)["data_dir"]
        started = {"app": net.Handover(data_dir, ctx.path("serve-app.log")).launch()}
        if net.nginx_exe() is not None:
            accel = {"HANDOVER_ACCEL_REDIRECT": "/protected-files"}
            started["accel"] = net.Handover(data_dir, ctx.path("serve-accel.log"), accel).launch()
        for server in started.values():
            server.ready()
        warm_up(started["app"], stack(ctx)["ids"], ctx)
        ctx.servers = started
    return ctx.servers


def child_setup() -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from handover.accounts.services import token_create, user_create
    from handover.offers.services import OfferFields, offer_create

    call_command("migrate", interactive=False, verbosity=0)
    # Set-up only: the default password hasher costs seconds per account here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seller = user_create(username="bench-seller", password=PASSWORD)
    buyer = user_create(username="bench-buyer", password=PASSWORD)
    fields = OfferFields(
        title="Bench offer",
        description="",
        price=10000,
        currency="EUR",
        delivery_days=3,
        revisions=1,
        terms="Bench terms.",
        requirements=["Brief?"],
    )
    return {
        "offer_id": offer_create(seller=seller, fields=fields).pk,
        "seller": f"Bearer {token_create(user=seller)}",
        "buyer": f"Bearer {token_create(user=buyer)}",
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def deliver(
    server: net.Handover, ids: dict, path: Path, name: str, cpu: list[float] | None = None
) -> tuple[net.Upload, int]:
    """Upload ``path`` to a new paid order; check the server stored exactly these bytes.
    The workers' CPU seconds for the upload alone go to ``cpu``."""
    order_id = net.paid_order(server.port, ids)
    before = server.cpu()
    result = net.upload(server.port, order_id, ids["seller"], path, name)
    if cpu is not None:
        cpu.append(server.cpu() - before)
    if result.status != 201:
        raise RuntimeError(f"upload of {name} answered {result.status}: {result.answer}")
    stored = result.answer["files"][0]
    if stored["size"] != path.stat().st_size:
        raise RuntimeError(f"upload of {name}: stored {stored['size']} bytes")
    return result, order_id


def stored_dir(ctx: Context, order_id: int) -> Path:
    return stack(ctx)["data_dir"] / "files" / "originals" / str(order_id)


def warm_up(server: net.Handover, ids: dict, ctx: Context) -> None:
    """A few small deliveries on new connections, so every worker has loaded the upload path."""
    small = ctx.path("warm.txt")
    media.text_file(small, 64 * 1024)
    for _ in range(3 * len(server.workers())):
        _, order_id = deliver(server, ids, small, "warm.txt")
        shutil.rmtree(stored_dir(ctx, order_id), ignore_errors=True)


# --- ingest ---


def copy_and_hash(src: Path, dest: Path) -> str:
    """The baseline: what streaming ingestion has to do at least, in one Python loop."""
    digest = hashlib.sha256()
    with src.open("rb", buffering=0) as source, dest.open("wb", buffering=0) as out:
        while chunk := source.read(MIB):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


@dataclass
class IngestCase:
    """One kind of upload: the file, its SHA-256, and what each upload of it took."""

    path: Path
    sha256: str = ""
    uploads: list[net.Upload] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the server workers' seconds per upload


def ingest_cases(ctx: Context) -> dict[str, IngestCase]:
    """The headline upload is UTF-8 text with a few accented letters on every line, which the
    server validates to the last byte; pure ASCII text and a zip (checked by its head only)
    show what that validation costs."""
    size = ctx.plan.ingest_size
    cases = {name: IngestCase(ctx.path(f"ingest-{name}")) for name in ("text", "ascii", "zip")}
    media.text_file(cases["text"].path, size)
    media.text_file(cases["ascii"].path, size, ascii_only=True)
    media.stored_zip(cases["zip"].path, cases["text"].path)
    for case in cases.values():
        case.sha256 = sha256_of(case.path)
    return cases


def section_ingest(ctx: Context) -> None:
    plan = ctx.plan
    ids = stack(ctx)["ids"]
    server = servers(ctx)["app"]
    cases = ingest_cases(ctx)
    headline = cases["text"]

    def upload(case: IngestCase) -> Callable[[], object]:
        def run() -> None:
            result, order_id = deliver(server, ids, case.path, case.path.name, case.cpu)
            if result.answer["files"][0]["sha256"] != case.sha256:
                raise RuntimeError(f"the server's SHA-256 of {case.path.name} is wrong")
            case.uploads.append(result)
            shutil.rmtree(stored_dir(ctx, order_id))

        return run

    def loop() -> None:
        copy = ctx.path("copy.bin")
        if copy_and_hash(headline.path, copy) != headline.sha256:
            raise RuntimeError("the loop's SHA-256 is wrong")
        copy.unlink()

    progress(f"ingest: {plan.ingest_reps} rounds of {plan.ingest_size // MIB} MiB")
    runs = {name: upload(case) for name, case in cases.items()}
    samples = interleaved({**runs, "loop": loop}, plan.ingest_reps)
    for case in cases.values():
        case.path.unlink()
    ingest_rows(ctx, cases, samples["loop"])
    ingest_memory(ctx)
    if ctx.profile:
        ingest_profile(ctx)


def ingest_rows(ctx: Context, cases: dict[str, IngestCase], loop: list[Sample]) -> None:
    # An upload's time is the client's, from its first byte sent to the answer; the order it
    # goes to is placed and paid before that and not counted. The first upload of each case
    # came from the unmeasured round.
    mib = ctx.plan.ingest_size / MIB
    per_gib = GIB / ctx.plan.ingest_size
    loop_s, loop_cpu = median_wall(loop), median_cpu(loop) * per_gib
    labels = {
        "text": "UTF-8 text (accents on every line)",
        "ascii": "ASCII text (info)",
        "zip": "zip, stored (info)",
    }
    for name, case in cases.items():
        upload_s = statistics.median(u.seconds for u in case.uploads[1:])
        share = loop_s / upload_s
        ctx.report.add(
            f"ingest: {mib:.0f} MiB upload, {labels[name]}, MiB/s",
            f"{mib / upload_s:.0f} MiB/s ({upload_s:.2f} s)",
            f"{mib / loop_s:.0f} MiB/s (copy + SHA-256 loop)",
            f"{share:.0%}",
            ">= 60%" if name == "text" else "-",
            met=share >= 0.6 if name == "text" else None,
        )
        server_cpu = statistics.median(case.cpu[1:]) * per_gib
        ctx.report.add(
            f"ingest: CPU s per GiB, server workers vs the loop, {name} (info)",
            f"{server_cpu:.2f} s",
            f"{loop_cpu:.2f} s",
            f"{server_cpu / loop_cpu:.1f}x",
        )
        walls = ", ".join(f"{u.seconds:.2f}" for u in case.uploads[1:])
        ctx.report.notes.append(f"ingest: {name} upload seconds, each round: {walls}")
    walls = ", ".join(f"{s.wall:.2f}" for s in loop)
    ctx.report.notes.append(f"ingest: loop seconds, each round: {walls}")


def ingest_memory(ctx: Context) -> None:
    report, plan = ctx.report, ctx.plan
    sizes = plan.memory_sizes
    if sizes is None:
        report.add(
            "ingest: worker peak RSS, 100 MiB vs 4 GiB upload",
            "skipped (--quick)",
            target="within 20 MB",
        )
        return
    need = sum(sizes) * 2 + GIB
    free = shutil.disk_usage(ctx.tmp).free
    if free < need:
        report.add(
            "ingest: worker peak RSS, 100 MiB vs 4 GiB upload",
            f"skipped: {free / GIB:.1f} GiB free, {need / GIB:.1f} needed",
            target="within 20 MB",
        )
        return
    ids = stack(ctx)["ids"]
    server = net.Handover(stack(ctx)["data_dir"], ctx.path("serve-memory.log")).start()
    try:
        warm_up(server, ids, ctx)
        peaks = []
        for size in sizes:
            src = ctx.path(f"memory-{size}.txt")
            progress(f"ingest: memory, a {size // MIB} MiB upload")
            media.text_file(src, size)
            _, order_id = deliver(server, ids, src, src.name)
            shutil.rmtree(stored_dir(ctx, order_id))
            src.unlink()
            peaks.append(server.hwm_mib())
    finally:
        server.stop()
    small, large = max(peaks[0].values()), max(peaks[1].values())
    per_worker = ", ".join(
        f"{peaks[0][pid]:.0f} -> {peaks[1][pid]:.0f}" for pid in sorted(peaks[1]) if pid in peaks[0]
    )
    report.add(
        f"ingest: worker peak RSS (VmHWM), {sizes[0] // MIB} MiB then {sizes[1] // GIB} GiB upload",
        f"{small:.0f} -> {large:.0f} MiB (+{large - small:.1f})",
        target="within 20 MB",
        met=(large - small) * MIB <= 20e6,
    )
    report.notes.append(f"ingest: VmHWM per worker, MiB: {per_worker}")


def ingest_profile(ctx: Context) -> None:
    """One upload under cProfile, in the worker thread that handles it (delivery_profile.py)."""
    ids = stack(ctx)["ids"]
    prof_dir = ctx.path("profiles")
    prof_dir.mkdir(exist_ok=True)
    env = {
        "GUNICORN_CMD_ARGS": f"-c {ROOT / 'bench' / 'delivery_profile.py'}",
        "BENCH_PROFILE_DIR": str(prof_dir),
    }
    src = ctx.path("profile.txt")
    media.text_file(src, ctx.plan.ingest_size)
    server = net.Handover(stack(ctx)["data_dir"], ctx.path("serve-profile.log"), env).start()
    try:
        warm_up(server, ids, ctx)
        order_id = net.paid_order(server.port, ids)
        for old in prof_dir.iterdir():
            old.unlink()
        result = net.upload(server.port, order_id, ids["seller"], src, "profile.txt")
    finally:
        server.stop()
    src.unlink()
    dumps = sorted(prof_dir.iterdir(), key=lambda p: p.stat().st_size)
    if not dumps:
        ctx.report.notes.append("ingest: the profile wrote nothing")
        return
    ctx.report.profiles.append(
        f"Server-side profile of one {ctx.plan.ingest_size // MIB} MiB upload "
        f"({result.seconds:.2f} s under cProfile), top functions by own time:\n"
        + profile_text(dumps[-1])
    )


def profile_text(path: Path, top: int = 18) -> str:
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    return "\n".join([total, *lines[start:]]).rstrip()


# --- download ---


def section_download(ctx: Context) -> None:
    plan = ctx.plan
    ids, data_dir = stack(ctx)["ids"], stack(ctx)["data_dir"]
    apps = servers(ctx)  # the app server behind each way, whose CPU is counted
    app = apps["app"]
    src = ctx.path("download.txt")
    media.text_file(src, plan.download_size)
    progress("download: uploading the original")
    result, order_id = deliver(app, ids, src, "original.txt")
    stored = next(stored_dir(ctx, order_id).iterdir())
    path = f"/api/v1/files/{result.answer['files'][0]['id']}/original"
    ways: dict[str, Callable[[], net.Download]] = {
        "a": lambda: net.download(app.port, path, ids["seller"]),
    }
    behind = {"a": app}
    ports = {"a": app.port}
    if "accel" not in apps:
        ctx.report.notes.append("download: nginx is not installed: (b) and (c) are skipped")
    else:
        nginx = net.Nginx(ctx.path("nginx"), data_dir / "files", apps["accel"].port).start()
        static = f"/static-files/{stored.relative_to(data_dir / 'files')}"
        ways["b"] = lambda: net.download(nginx.port, path, ids["seller"])
        ways["c"] = lambda: net.download(nginx.port, static)
        behind["b"] = apps["accel"]
        ports["b"] = nginx.port
    check_ranges(ctx, ports, path, ids["seller"], src)
    # A worker's first download loads code (a hundred ms of CPU): not what is measured here.
    for port in ports.values():
        for _ in range(4 * len(app.workers())):
            net.download(port, path, ids["seller"], range_="bytes=0-99")
    hwm_before = app.hwm_mib()
    cpu: dict[str, list[float]] = {name: [] for name in behind}
    speeds: dict[str, list[float]] = {name: [] for name in ways}
    ttfb: dict[str, list[float]] = {name: [] for name in ways}

    def measured(name: str) -> Callable[[], object]:
        server = behind.get(name)

        def run() -> None:
            before = server.cpu() if server else 0.0
            got = ways[name]()
            if got.status != 200 or got.size != plan.download_size:
                raise RuntimeError(f"download ({name}): {got.status}, {got.size} bytes")
            if server:
                cpu[name].append((server.cpu() - before) * GIB / plan.download_size)
            speeds[name].append(plan.download_size / MIB / got.seconds)
            ttfb[name].append(got.first_byte)

        return run

    progress(f"download: {plan.download_reps} rounds of {plan.download_size // MIB} MiB")
    interleaved({name: measured(name) for name in ways}, plan.download_reps)
    hwm_after = app.hwm_mib()
    src.unlink()
    shutil.rmtree(stored_dir(ctx, order_id))
    download_rows(ctx, speeds, ttfb, cpu, hwm_before, hwm_after)


def download_rows(
    ctx: Context, speeds: dict, ttfb: dict, cpu: dict, hwm_before: dict, hwm_after: dict
) -> None:
    report, size = ctx.report, ctx.plan.download_size
    # The first sample of each way came from the unmeasured round; medians of the rest.
    speed = {name: statistics.median(values[1:]) for name, values in speeds.items()}
    for name, values in speeds.items():
        each = ", ".join(f"{v:.0f}" for v in values[1:])
        report.notes.append(f"download: ({name}) MiB/s, each round: {each}")
    first_byte = ", ".join(
        f"({name}) {statistics.median(values[1:]) * 1000:.1f} ms" for name, values in ttfb.items()
    )
    report.notes.append(f"download: median time to the response headers: {first_byte}")
    cpu_gib = {name: statistics.median(values[1:]) for name, values in cpu.items() if values}
    names = {
        "a": "(a) the app: gunicorn, sendfile",
        "b": "(b) nginx + X-Accel-Redirect",
        "c": "(c) nginx static",
    }
    for name in ("a", "b"):
        if name not in speed:
            continue
        baseline, ratio, met = "-", "-", None
        if "c" in speed:
            baseline, ratio = (
                f"{speed['c']:.0f} MiB/s {names['c']}",
                f"{speed[name] / speed['c']:.0%}",
            )
            met = speed[name] >= 0.9 * speed["c"]
        report.add(
            f"download: {size // MIB} MiB original, {names[name]}, MiB/s",
            f"{speed[name]:.0f} MiB/s",
            baseline,
            ratio,
            ">= 90% of (c)",
            met=met,
        )
    for name, value in cpu_gib.items():
        report.add(
            f"download: app CPU s per GiB, {names[name]}",
            f"{value:.3f} s",
            target="< 0.15 s",
            met=value < 0.15,
        )
    small, large = max(hwm_before.values()), max(hwm_after.values())
    report.add(
        f"download: app worker peak RSS (VmHWM) before vs after the {size // MIB} MiB downloads",
        f"{small:.0f} -> {large:.0f} MiB (+{large - small:.1f})",
        target="flat (within 20 MB)",
        met=(large - small) * MIB <= 20e6,
    )


def check_ranges(ctx: Context, ports: dict[str, int], path: str, token: str, src: Path) -> None:
    with src.open("rb") as source:
        source.seek(1000)
        expected = source.read(1000)
    size = src.stat().st_size
    for name, port in ports.items():
        got = net.download(port, path, token, range_="bytes=1000-1999", keep=True)
        content_range = got.headers.get("Content-Range", "")
        good = (
            got.status == 206
            and got.body == expected
            and content_range == f"bytes 1000-1999/{size}"
        )
        which = "the right ones" if got.body == expected else "WRONG bytes"
        ctx.report.add(
            f"download: Range bytes=1000-1999 via ({name})",
            f"{got.status}, {len(got.body)} bytes, {which}",
            target="206, exactly bytes 1000-1999",
            met=good,
        )
        if not good:
            ctx.report.notes.append(f"download: range via ({name}) headers: {got.headers}")
