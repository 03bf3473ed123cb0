"""The boundary server: answers the parts of Stripe's API that localstripe lacks (Connect,
disputes, file uploads) with the shapes of Stripe's API reference, and passes every other
request on to localstripe. A hand-written fake at the HTTP boundary only; see
``testing.stripe``."""

import http.server
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, dict[str, Any]]]]


class StripeBoundary:
    """Answers the paths of ``routes`` itself and passes every other request on to
    localstripe. A handler gets ``(boundary, match, form, body, headers)`` (``form``: the
    request's form fields and query, Stripe's bracketed keys as given, each a list; empty for
    a multipart upload, whose raw ``body`` it parses) and returns (status, JSON body), or
    (status, bytes) for a script; for a redirect (3xx) the body is ``{"location": url}``."""

    def __init__(self, localstripe_url: str, routes: list[Route]) -> None:
        self.localstripe_url = localstripe_url
        self.routes = routes
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object, for the routes' use
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []  # method, path, form
        self.lock = threading.Lock()
        boundary = self

        class Handle(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                for method, pattern, handler in boundary.routes:
                    match = pattern.fullmatch(path)
                    if method == self.command and match:
                        form = urllib.parse.parse_qs(
                            body.decode("latin-1") if b"Content-Disposition" not in body else ""
                        )
                        form |= urllib.parse.parse_qs(query)
                        with boundary.lock:
                            boundary.requests.append((self.command, path, form))
                            status, answer = handler(boundary, match, form, body, self.headers)
                        if 300 <= status < 400:  # a hosted page sending the browser on
                            self.send_response(status)
                            self.send_header("Location", answer["location"])
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                        if isinstance(answer, bytes):  # a script (testing.stripe_js)
                            self._answer(status, answer, "application/javascript")
                        else:
                            self._answer(status, json.dumps(answer).encode(), "application/json")
                        return
                self._pass_on(body)

            def _pass_on(self, body: bytes) -> None:
                request = urllib.request.Request(
                    boundary.localstripe_url + self.path,
                    data=body if self.command in ("POST", "DELETE") else None,
                    method=self.command,
                    headers={
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() in ("authorization", "content-type", "idempotency-key")
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, data, kind = (
                            response.status,
                            response.read(),
                            response.headers.get("Content-Type", "application/json"),
                        )
                except urllib.error.HTTPError as error:
                    status, data = error.code, error.read()
                    kind = error.headers.get("Content-Type", "application/json")
                self._answer(status, data, kind)

            def _answer(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"
