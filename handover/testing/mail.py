"""What every e-mail must be: its links lead to web pages at HANDOVER_BASE_URL, never to the
API. A plugin of the root conftest: every test's sent mail is checked."""

import re
from collections.abc import Iterable, Iterator

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

URL = re.compile(r"https?://[^\s<>\"')]+")


def link_problems(text: str) -> list[str]:
    """What is wrong with the links of an e-mail's ``text``: each link must start with
    HANDOVER_BASE_URL and resolve to a page of the web (not under /api/), and no text may
    name an API route."""
    problems = ["it names an API route (/api/)"] if "/api/" in text else []
    base = settings.HANDOVER_BASE_URL
    for url in URL.findall(text):
        if not url.startswith(base + "/"):
            problems.append(f"{url} is not under HANDOVER_BASE_URL ({base})")
            continue
        path = "/" + url.removeprefix(base + "/").split("?", 1)[0].split("#", 1)[0]
        try:
            match = resolve(path)
        except Resolver404:
            problems.append(f"{url} is no page")
            continue
        if match.namespace != "web":
            problems.append(f"{url} is not a web page ({match.view_name})")
    return problems


def sent_mail_problems(messages: Iterable) -> list[str]:
    """Each problem of each message (django.core.mail.outbox), naming its subject."""
    problems = []
    for message in messages:
        texts = [message.subject, message.body]
        texts += [str(content) for content, _type in getattr(message, "alternatives", [])]
        for problem in link_problems("\n".join(texts)):
            problems.append(f"{message.subject!r}: {problem}")
    return problems


@pytest.fixture(autouse=True)
def _mail_links_web_pages(settings) -> Iterator[None]:
    """Every e-mail the suite sends links to pages at HANDOVER_BASE_URL and names no /api/
    route: a test whose sent mail (the test mailer's outbox) does otherwise fails. Checked
    before ``settings`` is undone, against the base URL the test set."""
    yield
    from django.core import mail

    problems = sent_mail_problems(getattr(mail, "outbox", []))
    if problems:
        pytest.fail("E-mail whose links are not web pages:\n" + "\n".join(problems))
