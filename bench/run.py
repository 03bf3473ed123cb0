"""Order lifecycles per second through the API, and the latency of one transition.

    ./run bench                    SQLite, then PostgreSQL on a throwaway server
    ./run bench --http             also through a real `handover serve` (gunicorn) on loopback
    .venv/bin/python bench/run.py  SQLite only, unless HANDOVER_BENCH_PG_URL is set
    ./run bench --compare REF      before (the commit REF) and after (this tree) in one run:
                                   lifecycles/s and the transition's p99 with 2 clients

A lifecycle is four API calls by a buyer and a seller: place an order, pay it (the test provider
captures at once), deliver one 1 KiB text file (multipart), accept. Every POST carries an
Idempotency-Key, as a well-behaved client's does. (Text, because delivery accepts only files
whose bytes it recognises; a text file also gets a preview, which the worker makes later.)

The headline figures are in-process: ``django.test.Client`` drives the whole WSGI handler,
middleware, django-ninja, the services and the database, without a socket or gunicorn, in one
thread (so on one core). ``--http`` adds the same work over HTTP against `handover serve`
(gunicorn, HANDOVER_WEB_WORKERS x HANDOVER_WEB_THREADS) from several client threads.

The baseline is the same number of trivial authenticated calls (GET /api/v1/me) through the same
stack in the same run, so the ratios say what a lifecycle costs over a no-op request whatever the
machine. Each database starts empty (a fresh HANDOVER_DATA_DIR; for PostgreSQL a new database on
the given server) and runs in its own process, since Django reads its settings once.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CALLS_PER_LIFECYCLE = 4
TARGET_LIFECYCLES_PER_S = 50  # on SQLite on 2 cores (issue 2)
TARGET_ACCEPT_P99_MS = 50
PASSWORD = "bench-password-not-secret"
STEPS = ("place", "pay", "deliver", "accept")
HANDOVER = [sys.executable, "-m", "handover.cli"]
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifecycles", type=int, default=300, help="per database (300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured lifecycles first (20)")
    parser.add_argument(
        "--budget", type=float, default=30, help="at most this many seconds of lifecycles (30)"
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--http", action="store_true", help="also measure over HTTP")
    parser.add_argument("--clients", type=int, default=4, help="client threads for --http (4)")
    parser.add_argument(
        "--procs", type=int, default=os.cpu_count() or 2, help="processes for the parallel mode"
    )
    parser.add_argument(
        "--parallel-s", type=float, default=15, help="seconds each parallel measure runs (15)"
    )
    parser.add_argument(
        "--compare", metavar="REF", help="measure the commit REF and this tree, same run"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="--compare: rounds, the variants interleaved (2)"
    )
    parser.add_argument("--child", choices=["inproc", "parallel", "http"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = {
            "inproc": measure_inproc,
            "parallel": measure_parallel,
            "http": measure_http,
        }[args.child]
        print(json.dumps(measure(args)))
        return
    pg_url = os.environ.get("HANDOVER_BENCH_PG_URL", "")
    databases = [db for db in ("sqlite", "postgresql") if args.only in (None, db)]
    if "postgresql" in databases and not pg_url:
        print("PostgreSQL skipped: HANDOVER_BENCH_PG_URL is not set (./run bench sets it).")
        databases.remove("postgresql")
    if args.compare:
        from compare import compare  # bench/compare.py

        compare(args, databases, pg_url)
        return
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    modes = ["inproc", "parallel", "http"] if args.http else ["inproc", "parallel"]
    results = {(mode, db): run_child(mode, db, args, pg_url) for mode in modes for db in databases}
    report(results, args, time.perf_counter() - started, (load_before, os.getloadavg()[0]))


def run_child(
    mode: str,
    db: str,
    args: argparse.Namespace,
    pg_url: str,
    tree: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """Measure one database in a fresh process, data directory and database, with the code
    of ``tree`` (this one, or another commit's for --compare)."""
    data_dir = tempfile.mkdtemp(prefix=f"handover-bench-{db}-")
    env = {**os.environ, "HANDOVER_DATA_DIR": data_dir, **(extra_env or {})}
    env["DJANGO_SETTINGS_MODULE"] = "handover.settings"
    env.pop("DATABASE_URL", None)
    dbname = ""
    try:
        if db == "postgresql":
            dbname = f"bench_{uuid.uuid4().hex[:12]}"
            pg_admin(pg_url, f'CREATE DATABASE "{dbname}"')
            env["DATABASE_URL"] = with_database(pg_url, dbname)
        command = [sys.executable, str(tree / "bench" / "run.py"), "--child", mode]
        command += ["--clients", str(args.clients)]
        command += ["--lifecycles", str(args.lifecycles), "--warmup", str(args.warmup)]
        command += ["--budget", str(args.budget), "--procs", str(args.procs)]
        command += ["--parallel-s", str(args.parallel_s)]
        print(f"measuring {db} ({mode}) ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            command, env=env, cwd=tree, capture_output=True, text=True, check=False
        )
        if done.returncode:
            sys.exit(f"bench on {db} ({mode}) failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if dbname:
            pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pg_admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement.encode())


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


# --- the children: set-up shared by both ---


def setup_django() -> dict[str, str]:
    """Migrate the empty database; make a seller, a buyer and an offer; return tokens and ids."""
    import django
    from django.conf import settings

    engine = os.environ.get("HANDOVER_BENCH_SQLITE_ENGINE")
    if engine and "sqlite" in settings.DATABASES["default"]["ENGINE"]:
        # Another SQLite backend to compare (Django's own): set before any connection.
        settings.DATABASES["default"]["ENGINE"] = engine
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from handover.accounts.services import token_create, user_create
    from handover.offers.services import OfferFields, offer_create

    call_command("migrate", interactive=False, verbosity=0)
    # Set-up only: the default PBKDF2 costs seconds per account here and is not what we measure.
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
        "offer_id": str(offer_create(seller=seller, fields=fields).pk),
        "seller": f"Bearer {token_create(user=seller)}",
        "buyer": f"Bearer {token_create(user=buyer)}",
        "engine": connection.vendor,
        "server_version": server_version(connection),
    }


def server_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("show server_version")
        return str(cursor.fetchone()[0])


# A transport sends (method, path, auth header, body or multipart fields) and gives the status
# and the parsed JSON answer; the lifecycle is written once over it.
Send = Callable[..., tuple[int, dict]]


def lifecycle(send: Send, ids: dict[str, str]) -> dict[str, float]:
    """One order's life; returns the seconds each call took."""
    times: dict[str, float] = {}

    def call(step: str, path: str, who: str, expect: int, **body) -> dict:
        start = time.perf_counter()
        status, answer = send("POST", path, ids[who], **body)
        times[step] = time.perf_counter() - start
        if status != expect:
            raise RuntimeError(f"{step}: {status} {answer}")
        return answer

    order = call(
        "place",
        "/orders",
        "buyer",
        201,
        payload={"offer_id": int(ids["offer_id"]), "answers": ["A brief."]},
    )
    order_id = order["id"]
    call("pay", f"/orders/{order_id}/pay", "buyer", 200)
    files = {"files": ("work.txt", os.urandom(512).hex().encode())}  # 1 KiB of UTF-8 text
    form = {"text": "Done."}
    call("deliver", f"/orders/{order_id}/deliveries", "seller", 201, form=form, files=files)
    call("accept", f"/orders/{order_id}/accept", "buyer", 200)
    return times


def baseline(send: Send, ids: dict[str, str]) -> list[float]:
    """As many GET /api/v1/me as a lifecycle has calls, each timed."""
    times = []
    for _ in range(CALLS_PER_LIFECYCLE):
        start = time.perf_counter()
        status, answer = send("GET", "/me", ids["buyer"])
        times.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"GET /me: {status} {answer}")
    return times


def summary(ids: dict[str, str], runs: list[dict], me: list[list[float]], wall: dict) -> dict:
    return {
        "engine": ids["engine"],
        "server_version": ids["server_version"],
        "lifecycles": len(runs),
        "baseline_sets": len(me),
        "lifecycle_s": wall["lifecycle"],
        "baseline_s": wall["baseline"],
        "accept_ms": [run["accept"] * 1000 for run in runs],
        "me_ms": [call * 1000 for calls in me for call in calls],
        "step_ms": {step: statistics.median(r[step] for r in runs) * 1000 for step in STEPS},
    }


def repeat(work, send: Send, ids: dict[str, str], count: int, budget_s: float):
    """``work`` up to ``count`` times or until ``budget_s`` is spent: results, wall and CPU s."""
    start, start_cpu = time.perf_counter(), time.process_time()
    results: list = []
    while len(results) < count and time.perf_counter() - start < budget_s:
        results.append(work(send, ids))
    return results, time.perf_counter() - start, time.process_time() - start_cpu


# --- in-process: django.test.Client, one thread ---


def _inproc_sender() -> Send:
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")  # an allowed host

    def send(method: str, path: str, auth: str, payload=None, form=None, files=None):
        headers = {"Authorization": auth}
        if method == "GET":
            response = client.get(f"/api/v1{path}", headers=headers)
        else:
            headers["Idempotency-Key"] = uuid.uuid4().hex
            if files is not None:
                from django.core.files.uploadedfile import SimpleUploadedFile

                uploads = {k: SimpleUploadedFile(*v) for k, v in files.items()}
                response = client.post(f"/api/v1{path}", {**form, **uploads}, headers=headers)
            else:
                body = json.dumps(payload or {})
                response = client.post(
                    f"/api/v1{path}", body, content_type="application/json", headers=headers
                )
        return response.status_code, response.json()

    return send


def measure_inproc(args: argparse.Namespace) -> dict:
    ids = setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = _inproc_sender()
    for _ in range(args.warmup):
        lifecycle(send, ids)
        baseline(send, ids)
    wall, cpu = {}, {}
    runs, wall["lifecycle"], cpu["lifecycle"] = repeat(
        lifecycle, send, ids, args.lifecycles, args.budget
    )
    me, wall["baseline"], cpu["baseline"] = repeat(baseline, send, ids, len(runs), float("inf"))
    with CaptureQueriesContext(connection) as queries:
        lifecycle(send, ids)
    out = summary(ids, runs, me, wall)
    out.update(
        cpu_ms_per_lifecycle=cpu["lifecycle"] / len(runs) * 1000,
        cpu_ms_per_baseline=cpu["baseline"] / len(me) * 1000,
        queries_per_lifecycle=len(queries),
    )
    return out


# --- in-process on every core: N processes, each a django.test.Client, one database ---


def measure_parallel(args: argparse.Namespace) -> dict:
    """Lifecycles from ``--procs`` processes at once, then GET /me sets from as many."""
    import multiprocessing

    ids = setup_django()
    from django.db import connections

    connections.close_all()  # each forked process opens its own connection
    context = multiprocessing.get_context("fork")
    out: dict = {"procs": args.procs, "engine": ids["engine"]}
    out["server_version"] = ids["server_version"]
    for work, name in ((lifecycle, "lifecycle"), (baseline, "baseline")):
        queue = context.Queue()
        start_at = time.time() + 5  # after every process has warmed up
        processes = [
            context.Process(target=_parallel_worker, args=(work, ids, queue, start_at, args))
            for _ in range(args.procs)
        ]
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        for process in processes:
            process.join()
        runs = [run for result in results for run in result]
        out[f"{name}s" if name == "lifecycle" else "baseline_sets"] = len(runs)
        out[f"{name}_s"] = args.parallel_s
        if name == "lifecycle":
            out["accept_ms"] = [run["accept"] * 1000 for run in runs]
            out["step_ms"] = {s: statistics.median(r[s] for r in runs) * 1000 for s in STEPS}
        else:
            out["me_ms"] = [call * 1000 for calls in runs for call in calls]
    return out


def _parallel_worker(work, ids: dict[str, str], queue, start_at: float, args) -> None:
    send = _inproc_sender()
    for _ in range(5):
        work(send, ids)
    while time.time() < start_at:
        time.sleep(0.005)
    runs = []
    while time.time() < start_at + args.parallel_s:
        runs.append(work(send, ids))
    queue.put(runs)


# --- over HTTP: `handover serve` on loopback, several client threads ---


def measure_http(args: argparse.Namespace) -> dict:
    ids = setup_django()
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = subprocess.Popen(
        [
            *HANDOVER,
            "serve",
            "--no-worker",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(port)
        in_threads(args.clients, args.warmup, port, ids, lifecycle)
        wall = {}
        start = time.perf_counter()
        runs = in_threads(args.clients, args.lifecycles, port, ids, lifecycle, args.budget)
        wall["lifecycle"] = time.perf_counter() - start
        start = time.perf_counter()
        me = in_threads(args.clients, len(runs), port, ids, baseline)
        wall["baseline"] = time.perf_counter() - start
    finally:
        server.terminate()  # serve stops gunicorn on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
    out = summary(ids, runs, me, wall)
    out.update(clients=args.clients)
    out.update(server=f"{settings.HANDOVER_WEB_WORKERS} workers x {settings.HANDOVER_WEB_THREADS}")
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("handover serve did not answer /api/v1/health within 60 s")


def in_threads(
    clients: int, total: int, port: int, ids: dict[str, str], work, budget_s: float = 1e9
) -> list:
    """Run ``work`` ``total`` times spread over ``clients`` threads, each with its connection,
    or until ``budget_s`` is spent."""
    deadline = time.perf_counter() + budget_s
    results: list = []
    errors: list[BaseException] = []
    shares = [total // clients + (i < total % clients) for i in range(clients)]

    def client(count: int) -> None:
        send = http_sender(port)
        try:
            for _ in range(count):
                if time.perf_counter() > deadline:
                    break
                results.append(work(send, ids))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def http_sender(port: int) -> Send:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(method: str, path: str, auth: str, payload=None, form=None, files=None):
        headers = {"Authorization": auth}
        body = None
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
            if files is not None:
                body, headers["Content-Type"] = multipart(form or {}, files)
            else:
                body = json.dumps(payload or {}).encode()
                headers["Content-Type"] = "application/json"
        connection.request(method, f"/api/v1{path}", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    return send


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        )
        parts.append(f"{head}\r\nContent-Type: application/octet-stream\r\n\r\n".encode())
        parts.append(content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- the report ---


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


ROWS: list[tuple[str, Callable[[dict], float], str]] = [
    ("lifecycles measured", lambda r: r["lifecycles"], "{:.0f}"),
    ("lifecycles/s", lambda r: 1 / per_lifecycle(r), "{:.1f}"),
    ("baseline sets/s (4 x GET /me)", lambda r: r["baseline_sets"] / r["baseline_s"], "{:.1f}"),
    ("ratio: lifecycle / baseline set", lambda r: per_lifecycle(r) / per_set(r), "{:.1f}x"),
    ("accept p50 ms", lambda r: percentile(r["accept_ms"], 50), "{:.1f}"),
    ("accept p99 ms", lambda r: percentile(r["accept_ms"], 99), "{:.1f}"),
    ("GET /me p50 ms", lambda r: percentile(r["me_ms"], 50), "{:.1f}"),
    ("GET /me p99 ms", lambda r: percentile(r["me_ms"], 99), "{:.1f}"),
    ("ratio: accept / GET /me, p50", lambda r: ratio(r, 50), "{:.1f}x"),
    ("ratio: accept / GET /me, p99", lambda r: ratio(r, 99), "{:.1f}x"),
    *[(f"{s} p50 ms", lambda r, s=s: r["step_ms"][s], "{:.1f}") for s in STEPS],
    ("CPU ms per lifecycle", lambda r: r.get("cpu_ms_per_lifecycle", float("nan")), "{:.0f}"),
    ("CPU ms per baseline set", lambda r: r.get("cpu_ms_per_baseline", float("nan")), "{:.0f}"),
    ("SQL queries per lifecycle", lambda r: r.get("queries_per_lifecycle", float("nan")), "{:.0f}"),
]


def per_lifecycle(r: dict) -> float:
    return r["lifecycle_s"] / r["lifecycles"]


def per_set(r: dict) -> float:
    return r["baseline_s"] / r["baseline_sets"]


def ratio(r: dict, p: float) -> float:
    return percentile(r["accept_ms"], p) / percentile(r["me_ms"], p)


def report(results: dict, args: argparse.Namespace, wall_s: float, load: tuple) -> None:
    print(f"\nUp to {args.lifecycles} lifecycles or {args.budget:.0f} s per database and mode,")
    print(f"after {args.warmup} unmeasured; then as many baseline sets as lifecycles")
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"load average before {load[0]:.2f}, after {load[1]:.2f}")
    for (mode, db), r in results.items():
        how = {
            "inproc": "django.test.Client, 1 process",
            "parallel": f"django.test.Client in {r.get('procs')} processes at once",
            "http": f"HTTP, {r.get('clients')} client threads, gunicorn {r.get('server')} threads",
        }[mode]
        print(f"{mode} {db}: {r['server_version']}; {how}")
    print()
    print("| measure | " + " | ".join(f"{db} {mode}" for mode, db in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name, value, form in ROWS:
        cells = [form.format(value(r)).replace("nan", "-") for r in results.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for line in verdicts(results):
        print(line)
    print(f"\nwall time {wall_s:.0f} s")


def verdicts(results: dict) -> list[str]:
    lines = []
    for (mode, db), r in results.items():
        rate = 1 / per_lifecycle(r)
        p99 = percentile(r["accept_ms"], 99)
        if db == "sqlite":
            met = "met" if rate >= TARGET_LIFECYCLES_PER_S else "MISSED"
            lines.append(f"{mode} sqlite: >= {TARGET_LIFECYCLES_PER_S} lifecycles/s {met}")
        met = "met" if p99 < TARGET_ACCEPT_P99_MS else "MISSED"
        lines.append(f"{mode} {db}: accept p99 < {TARGET_ACCEPT_P99_MS} ms {met}")
    return lines


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
