"""Reading pages back in tests: errors beside fields, messages, the browser's sizes, and the
browser tests' screenshots."""

import re
from html import unescape
from pathlib import Path

from playwright.sync_api import Page, ViewportSize

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


class Snapshots:
    """The key pages of a browser test: each checked for width at 390 px, then saved as a
    phone and a desktop screenshot among the test's artifacts."""

    def __init__(self, page: Page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0

    def __call__(self, name: str, page: Page | None = None) -> None:
        """Check the page (by default the one given at the start; a test with several
        people's windows names theirs) at 390 px, then save it at phone and desktop widths."""
        self.count += 1
        page = page or self.page
        # A click that navigates returns once the new document has started: let it load.
        page.wait_for_load_state()
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px wide at {PHONE['width']} px"
        stem = f"{self.count:02d}-{name}"
        page.screenshot(path=self.folder / f"{stem}-phone.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=self.folder / f"{stem}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)


def field_errors(response, field: str) -> list[str]:
    """The errors shown beside one field (Django renders them with the field's id)."""
    html = response.content.decode()
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    if found is None:
        return []
    # The control points at its errors, so a screen reader reads them with it.
    control = re.search(rf'<(?:input|textarea|select)[^>]*\sid="id_{field}"[^>]*>', html)
    assert control is not None, f"no control for {field}"
    assert 'aria-invalid="true"' in control.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', control.group(0))
    assert described is not None and f"id_{field}_error" in described.group(1).split()
    return [unescape(e) for e in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def form_errors(response) -> list[str]:
    """The errors shown above a form, for no one field."""
    html = response.content.decode()
    found = re.search(r'<ul class="errorlist nonfield">(.*?)</ul>', html, re.S)
    if found is None:
        return []
    return [unescape(e) for e in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def page_messages(response) -> list[str]:
    """The messages shown after an action (what django.contrib.messages carried over)."""
    html = response.content.decode()
    return [unescape(m) for m in re.findall(r'<p class="message[^"]*">(.*?)</p>', html, re.S)]


def nav_to(page: Page, link: str) -> None:
    """Follow a link of the top bar, opening its menu first where it is folded (a phone)."""
    nav = page.get_by_role("navigation", name="Main")
    toggle = nav.locator(".site-nav__toggle")
    if toggle.is_visible() and nav.locator("details[open]").count() == 0:
        toggle.click()
    nav.get_by_role("link", name=link, exact=True).click()
