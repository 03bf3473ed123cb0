"""End to end: `handover serve` (gunicorn and a worker beside it) over real HTTP; the worker's
scheduler auto-completes a delivered order when its timer runs out."""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HANDOVER = [sys.executable, "-m", "handover.cli"]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, base: str, token: str = ""):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, content_type="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
            request.add_header("Idempotency-Key", secrets.token_hex(8))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method: str, path: str, body=None):
        status, raw = self.call(method, path, body)
        assert status < 400, (status, raw)
        return json.loads(raw)


def _chunked_post(base: str, path: str, body: bytes, content_type: str, token: str):
    """POST ``body`` with ``Transfer-Encoding: chunked`` and no Content-Length."""
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    try:
        headers = {
            "Content-Type": content_type,
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": secrets.token_hex(8),
        }
        connection.request("POST", path, body=iter([body]), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def served(tmp_path: Path):
    port = _free_port()
    env = {
        **os.environ,
        "HANDOVER_DATA_DIR": str(tmp_path),
        "HANDOVER_AUTO_COMPLETE_AFTER": "2s",
        "HANDOVER_SCHEDULER_INTERVAL": "1s",
        "HANDOVER_WEB_WORKERS": "1",
    }
    subprocess.run([*HANDOVER, "migrate", "-v", "0"], env=env, check=True)
    suffix = secrets.token_hex(3)
    tokens = {}
    for name in ("seller", "buyer"):
        username = f"e2e-{name}-{suffix}"
        confirmed = ["--email", f"{username}@example.com", "--verified"]
        subprocess.run(
            # Confirmed by the operator's word: they order and sell at once.
            [*HANDOVER, "user", "add", username, "--password", "e2e-pass-4821", *confirmed],
            env=env,
            check=True,
            capture_output=True,
        )
        tokens[name] = subprocess.run(
            [*HANDOVER, "token", username], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
    server = subprocess.Popen(
        [*HANDOVER, "serve", "--port", str(port), "--no-migrate"], env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if Http(base).call("GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("handover serve did not answer within 15 s")
        yield base, tokens
    finally:
        server.terminate()  # SIGTERM to `serve` alone: it must stop gunicorn and the worker
        try:
            server.wait(timeout=40)
        finally:
            leftovers = _group_alive(server.pid)
            if leftovers:
                os.killpg(server.pid, signal.SIGKILL)
        assert not leftovers, "serve left gunicorn or the worker running"


def test_serve_answers_and_worker_auto_completes_a_delivered_order(served):
    base, tokens = served
    assert Http(base).call("GET", "/api/v1/openapi.json")[0] == 200
    status, page = Http(base).call("GET", "/api/v1/docs")
    assert status == 200 and b"swagger" in page.lower()
    seller, buyer = Http(base, tokens["seller"]), Http(base, tokens["buyer"])
    offer = seller.json(
        "POST",
        "/api/v1/offers",
        {
            "title": "Banner",
            "price": 2500,
            "currency": "EUR",
            "delivery_days": 2,
            "revisions": 0,
            "terms": "Standard terms.",
            "requirements": [],
        },
    )
    order = buyer.json("POST", "/api/v1/orders", {"offer_id": offer["id"], "answers": []})
    assert buyer.json("POST", f"/api/v1/orders/{order['id']}/pay")["state"] == "in_progress"
    body, content_type = _multipart({"text": "Done"}, {"files": ("banner.png", b"x" * 5000)})
    deliveries = f"/api/v1/orders/{order['id']}/deliveries"
    # A chunked upload: Django would read it as empty, so it is refused, never half-taken.
    status, raw = _chunked_post(base, deliveries, body, content_type, tokens["seller"])
    assert (status, json.loads(raw)["error"]) == (411, "length_required"), raw
    status, raw = seller.call("POST", deliveries, body, content_type)
    assert status == 201, raw
    deadline = time.monotonic() + 40
    state = ""
    while time.monotonic() < deadline:
        state = buyer.json("GET", f"/api/v1/orders/{order['id']}")["state"]
        if state == "completed":
            break
        time.sleep(0.5)
    assert state == "completed"
    events = buyer.json("GET", f"/api/v1/orders/{order['id']}/events")["items"]
    last = events[-1]
    assert last["actor_role"] == "timer" and last["payload"]["action"] == "accept"
    assert seller.json("GET", "/api/v1/balance")["pending"] == 2000
