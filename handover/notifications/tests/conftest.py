"""Shared pieces for the notification tests: webhook endpoints on 127.0.0.1 and the worker's
send run by hand."""

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from handover.notifications.rules import signature_valid


@pytest.fixture(autouse=True)
def _private_webhooks(settings) -> None:
    """The test endpoints listen on 127.0.0.1, which production refuses."""
    settings.HANDOVER_WEBHOOK_ALLOW_PRIVATE = True


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        return signature_valid(
            self.headers.get("Handover-Signature", ""),
            secret=secret,
            body=self.body,
            now=int(time.time()),
        )


# Answers a request: a status code, or None to hang until the endpoint is released.
Answer = Callable[[Received], int | None]


@dataclass
class Endpoint:
    """A webhook receiver on 127.0.0.1 that records every request it gets."""

    answer: Answer = lambda received: 200
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} requests came"
            time.sleep(0.05)


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received = Received(self.path, dict(self.headers.items()), body)
            endpoint.received.append(received)
            endpoint.arrived.set()
            status = endpoint.answer(received)
            if status is None:
                endpoint.release.wait(60)
                status = 200
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", endpoint.url + "elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender is gone (killed, or gave up)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(
    target: Endpoint, port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[Endpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(target))
    server.daemon_threads = True
    target.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        target.url = target.url.replace("http://127.0.0.1", "https://localhost")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        target.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serving(Endpoint()) as target:
        yield target
