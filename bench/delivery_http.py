"""Servers and clients for the ingest and download parts of bench/delivery.py: `handover serve`
and nginx on loopback, a streaming multipart upload, a discarding download, and what /proc says
about the server's processes. Every process started here is registered in ``STARTED`` and
stopped by its id (its process group, which it leads) in ``stop_all``."""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HANDOVER = [sys.executable, "-m", "handover.cli"]
ROOT = Path(__file__).resolve().parent.parent
READ_BUFFER = 1024 * 1024
STARTED: list[subprocess.Popen] = []
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its children go with it
        )
    STARTED.append(process)
    return process


def stop(process: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the process, then SIGKILL to its whole group (gunicorn's workers too)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group's id is the process's own
    if process.poll() is None:
        process.wait(timeout=10)
    if process in STARTED:
        STARTED.remove(process)


def stop_all() -> None:
    for process in list(reversed(STARTED)):
        try:
            stop(process, grace_s=5)
        except Exception as exc:  # keep stopping the others
            print(f"could not stop process {process.pid}: {exc}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(data_dir: Path) -> dict[str, str]:
    """The environment of a Handover process on its own data directory and SQLite database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HANDOVER_", "PG")) and k not in ("DATABASE_URL",)
    }
    env.update(
        HANDOVER_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="handover.settings",
        HANDOVER_LOG_LEVEL="WARNING",
    )
    return env


# --- /proc ---


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # fields 14 and 15 of stat(5)


def status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


# --- handover serve ---


@dataclass
class Handover:
    """`handover serve --no-worker` (gunicorn, its default workers and threads) on loopback."""

    data_dir: Path
    log: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> "Handover":
        return self.launch().ready()

    def launch(self) -> "Handover":
        """Start it without waiting, so that two servers can start at once."""
        self.port = free_port()
        command = [*HANDOVER, "serve", "--no-worker", "--no-migrate"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        env = {**base_env(self.data_dir), **self.extra_env}
        self.process = spawn(command, env=env, log=self.log)
        return self

    def ready(self) -> "Handover":
        wait_until(lambda: get_status(self.port, "/api/v1/health") == 200, 90, "handover serve")
        workers = int(os.environ.get("HANDOVER_WEB_WORKERS", "2"))
        wait_until(lambda: len(self.workers()) >= workers, 30, "gunicorn workers")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def master(self) -> int:
        assert self.process is not None
        masters = children_of(self.process.pid)  # serve's only child: gunicorn's master
        if not masters:
            raise RuntimeError("handover serve has no gunicorn child")
        return masters[0]

    def workers(self) -> list[int]:
        try:
            return sorted(children_of(self.master()))
        except RuntimeError:
            return []

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers())

    def hwm_mib(self) -> dict[int, float]:
        """Each worker's peak resident memory so far (VmHWM), MiB."""
        return {pid: status_kib(pid, "VmHWM") / 1024 for pid in self.workers()}


def wait_until(ready, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready within {timeout_s:g} s")


def get_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def api(port: int, method: str, path: str, token: str, payload: dict | None = None) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": token, "Idempotency-Key": uuid.uuid4().hex}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, f"/api/v1{path}", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {answer[:500]!r}")
    return json.loads(answer)


def paid_order(port: int, ids: dict[str, str]) -> int:
    """A new order from the bench buyer, placed and paid through the API: ready for delivery."""
    order = api(
        port,
        "POST",
        "/orders",
        ids["buyer"],
        {"offer_id": ids["offer_id"], "answers": ["A brief."]},
    )
    api(port, "POST", f"/orders/{order['id']}/pay", ids["buyer"], {})
    return int(order["id"])


@dataclass
class Upload:
    status: int
    seconds: float
    answer: dict


def upload(port: int, order_id: int, token: str, path: Path, name: str) -> Upload:
    """POST one file as a delivery, the multipart body streamed from disk in 1 MiB blocks."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nBench upload.\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb", buffering=0) as source:
            while chunk := source.read(READ_BUFFER):
                yield chunk
        yield tail

    headers = {
        "Authorization": token,
        "Idempotency-Key": uuid.uuid4().hex,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    try:
        start = time.perf_counter()
        connection.request("POST", f"/api/v1/orders/{order_id}/deliveries", body(), headers)
        response = connection.getresponse()
        answer = response.read()
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    try:
        parsed = json.loads(answer)
    except ValueError:
        parsed = {"raw": answer[:500].decode("latin-1")}
    return Upload(status=response.status, seconds=seconds, answer=parsed)


@dataclass
class Download:
    status: int
    size: int
    seconds: float
    first_byte: float  # seconds until the status line and headers were read
    headers: dict[str, str]
    body: bytes = b""  # kept only when asked for (small ranges)


def download(
    port: int, path: str, token: str = "", *, range_: str = "", keep: bool = False
) -> Download:
    """GET ``path``; the body read into one 1 MiB buffer and thrown away (or kept)."""
    headers = {"Authorization": token} if token else {}
    if range_:
        headers["Range"] = range_
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    buffer = bytearray(READ_BUFFER)
    view = memoryview(buffer)
    kept = bytearray()
    size = 0
    try:
        start = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        first_byte = time.perf_counter() - start
        while count := response.readinto(view):
            size += count
            if keep:
                kept += view[:count]
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    headers_got = dict(response.getheaders())
    return Download(response.status, size, seconds, first_byte, headers_got, bytes(kept))


# --- nginx ---

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
# The data directory is the bench's own temp folder, private to root (files 0600): the workers
# must run as root to read it. Acceptable for a throwaway server on loopback, not in production.
user root;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        # (c) the same stored files, served by nginx alone
        location /static-files/ {{
            alias {files}/;
        }}
        # (b) where HANDOVER_ACCEL_REDIRECT points: only reachable through the app's answer
        location /protected-files/ {{
            internal;
            alias {files}/;
            add_header X-Content-Type-Options nosniff;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host 127.0.0.1;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_request_buffering off;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    prefix: Path
    files: Path
    upstream: int
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                prefix=self.prefix, port=self.port, files=self.files, upstream=self.upstream
            )
        )
        command = [
            exe,
            "-p",
            str(self.prefix),
            "-c",
            str(conf),
            "-e",
            str(self.prefix / "error.log"),
        ]
        self.process = spawn(command, env=dict(os.environ), log=self.prefix / "stdout.log")
        wait_until(lambda: get_status(self.port, "/api/v1/health") == 200, 20, "nginx")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def cpu(self) -> float:
        assert self.process is not None
        return sum(cpu_seconds(p) for p in [self.process.pid, *children_of(self.process.pid)])


def nginx_exe() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
