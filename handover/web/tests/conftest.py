"""The browser harness for the page tests: Debian's Chromium, driven by Playwright.

Browser tests carry the ``browser`` marker. They skip when /usr/bin/chromium is missing
(``scripts/chromium.sh`` installs it), or fail instead with HANDOVER_REQUIRE_BROWSER=1, so
that CI cannot pass without having run them. Screenshots go to $HANDOVER_ARTIFACTS
(default var/artifacts) under browser/<test name>/.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from handover.web.tests.helpers import PHONE

CHROMIUM = Path("/usr/bin/chromium")
# As in ../shared/RECIPES.md: these flags run Debian's Chromium headless on these machines.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    browser_tests = [item for item in items if "browser" in item.keywords]
    if not browser_tests or CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: scripts/chromium.sh installs Debian's Chromium"
    if os.environ.get("HANDOVER_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"HANDOVER_REQUIRE_BROWSER=1, but {reason}")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Never `playwright install`: it downloads a browser, which fails here.
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": PHONE, "locale": "en-GB"}


@pytest.fixture(scope="session")
def playwright(playwright: Any) -> Iterator[Any]:
    """Playwright's sync API keeps an event loop running in the test thread from its start
    to the end of the session, and Django's ORM refuses to run beside a running loop unless
    told it is safe (it is: the loop only waits for the browser)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield playwright


@pytest.fixture
def browser_server(live_server) -> Any:
    """Django's live server; a test that uses it runs with ``transaction=True``."""
    return live_server


@pytest.fixture
def artifacts(request) -> Path:
    root = Path(os.environ.get("HANDOVER_ARTIFACTS") or settings.BASE_DIR / "var" / "artifacts")
    folder = root / "browser" / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


class PageWatch:
    """What a page did that it must not: console errors (a CSP refusal is one), failed
    requests, and requests to any other host."""

    def __init__(self, page, origin: str):
        self.origin = origin
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("requestfailed", self._failed)
        page.on("request", self._request)

    def _failed(self, request) -> None:
        # Leaving a page cancels what it was still loading (a lazy preview, the favicon):
        # Chromium reports that as ERR_ABORTED, the browser's doing and not the page's.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} ({request.failure})")

    def _console(self, message) -> None:
        # A form sent back with its errors is a 422, which Chromium logs as a failed load.
        if message.type in ("error", "warning") and "status of 422" not in message.text:
            self.problems.append(f"console {message.type}: {message.text}")

    def _request(self, request) -> None:
        if not request.url.startswith(self.origin):
            self.problems.append(f"outside request: {request.url}")


@pytest.fixture
def page_watch(page, browser_server) -> PageWatch:
    """Assert ``page_watch.problems == []`` at the end of a test."""
    return PageWatch(page, browser_server.url)
