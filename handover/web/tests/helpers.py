"""Reading pages back in tests: errors beside fields, messages, and the browser's sizes."""

import re
from html import unescape

from playwright.sync_api import ViewportSize

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


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
