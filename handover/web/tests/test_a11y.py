"""Every main page, checked with axe-core in Debian's Chromium: no serious or critical
accessibility violation at a phone's width or a desktop's, and no horizontal scrolling at 390 px.

Each page gets its own test and its own data, made through the services the way its
parties would. A page whose route does not exist yet is skipped, with the reason.
"""

import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import Page, Route, expect

from handover.accounts.models import Role, User
from handover.delivery.services import order_deliver
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_open
from handover.offers.models import Offer
from handover.ops.timers import timers_run_due
from handover.orders.feedback import order_review
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer, order_in_state
from handover.testing.files import png_bytes
from handover.testing.steps import previews_run
from handover.web.tests.axe import SCRIPT_PATH, axe_source, blocking_violations
from handover.web.tests.helpers import DESKTOP, PHONE
from handover.web.tests.test_gallery import gallery_order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Visit:
    """Who looks at which page: a URL name of the ``web`` namespace and its arguments."""

    user: User | None
    name: str
    kwargs: dict[str, int] = field(default_factory=dict)
    # What the visitor does on the page before it is checked (send a form back with errors).
    then: Callable[[Page], None] | None = None


def _send_back(
    button: str, fields: dict[str, str] | None = None, *, errors: bool = True
) -> Callable[[Page], None]:
    """Fill some fields and send the form with the browser's own checks off; by default,
    wait for the page to come back with its errors beside the fields."""

    def send(page: Page) -> None:
        page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")
        for label, value in (fields or {}).items():
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name=button, exact=True).click()
        if errors:
            expect(page.locator(".errorlist").first).to_be_visible()

    return send


def _locked_out(page: Page) -> None:
    """Five wrong passwords in a row: django-axes answers with its lockout page."""
    username = make_user("ana").username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _send_back("Log in", {"Username": username, "Password": "wrong"}, errors=False)(page)
    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()


def _split(page: Page) -> None:
    page.get_by_role("radio", name=re.compile("Split")).check()
    fields = {"Refund to the buyer, for a split": "52.75", "Rationale": "Half was done."}
    _send_back("Review the decision", fields, errors=False)(page)
    expect(page.get_by_role("heading", name="Split the money?")).to_be_visible()


def _split_too_large(page: Page) -> None:
    page.get_by_role("radio", name=re.compile("Split")).check()
    _send_back("Review the decision", {"Refund to the buyer, for a split": "5000"})(page)


# --- the data behind each page ------------------------------------------------------------


def _party(state: State, viewer: str = "buyer", **options: Any) -> tuple[Order, User]:
    buyer, seller, support = make_user("ana"), make_user("studio"), make_user("desk")
    order = order_in_state(state, buyer=buyer, seller=seller, support=support, **options)
    return order, {"buyer": buyer, "seller": seller}[viewer]


def _to_order(found: tuple[Order, User], name: str = "order") -> Visit:
    order, user = found
    return Visit(user, name, {"order_id": order.pk})


def _to_offer(found: tuple[Offer, User], name: str) -> Visit:
    offer, user = found
    return Visit(user, name, {"offer_id": offer.pk})


def _with(visit: Visit, then: Callable[[Page], None]) -> Visit:
    return Visit(visit.user, visit.name, visit.kwargs, then)


def _on_order(name: str, state: State, viewer: str = "buyer", **options: Any) -> Visit:
    return _to_order(_party(state, viewer, **options), name)


def _delivered_with_previews(viewer: str = "buyer") -> tuple[Order, User]:
    """A delivered PNG and a text file, their previews made."""
    order, user = _party(State.IN_PROGRESS, viewer)
    order_deliver(
        order_id=order.pk,
        user=order.seller,
        text="Two concepts, as asked.",
        files=[
            SimpleUploadedFile("logo.png", png_bytes()),
            SimpleUploadedFile("notes.md", b"# Notes\n\nThe logo uses two colours.\n"),
        ],
    )
    previews_run()
    return order, user


def _every_preview_kind() -> Visit:
    """An image, a PDF, text, an archive, audio and video, their previews made."""
    buyer, seller, support = make_user("ana"), make_user("studio"), make_user("desk")
    with tempfile.TemporaryDirectory() as scratch:  # the video is made there, then read
        order = gallery_order(buyer, seller, support, Path(scratch))
    return Visit(buyer, "order", {"order_id": order.pk})


def _offer(viewer: str = "buyer") -> tuple[Offer, User]:
    seller = make_user("studio")
    offer = make_offer(seller, title="Bakery logo")
    return offer, seller if viewer == "seller" else make_user("ana")


def _reviewed_offer() -> Visit:
    """An offer whose seller has a completed order reviewed by its buyer: the record shows."""
    offer, buyer = _offer()
    order = order_in_state(
        State.COMPLETED, buyer=buyer, seller=offer.seller, support=make_user("desk"), offer=offer
    )
    order_review(order_id=order.pk, user=buyer, rating=5, text="Clear brief, fast work.")
    order_review(order_id=order.pk, user=offer.seller, rating=5, text="Answered every question.")
    return Visit(None, "offer", {"offer_id": offer.pk})


def _release_early() -> Visit:
    order, seller = _party(State.DELIVERED, "seller")
    delivery = order.deliveries.get()
    return Visit(seller, "delivery_release", {"order_id": order.pk, "delivery_id": delivery.pk})


def _grant_revision() -> Visit:
    """A delivered order on an offer with no revisions included: the seller may grant one."""
    buyer, seller, support = make_user("ana"), make_user("studio"), make_user("desk")
    offer = make_offer(seller, title="Bakery logo", revisions=0)
    order = order_in_state(
        State.DELIVERED, buyer=buyer, seller=seller, support=support, offer=offer
    )
    return Visit(seller, "order_grant_revision", {"order_id": order.pk})


def _dispute(viewer: str, then: Callable[[Page], None] | None = None) -> Visit:
    """A delivery with previews, disputed by the buyer; the support agent looks."""
    order, buyer = _delivered_with_previews()
    dispute_open(order_id=order.pk, user=buyer, text="None of it uses our colours.")
    dispute = Dispute.objects.get(order=order, decided_at__isnull=True)
    agent = make_user("agent", Role.SUPPORT)
    if viewer == "queue":
        return Visit(agent, "dispute_queue")
    return Visit(agent, "dispute", {"dispute_id": dispute.pk}, then)


def _money(name: str, then: Callable[[Page], None] | None = None) -> Visit:
    """A completed order whose 80.00 EUR have cleared: the seller can ask for a payout."""
    _order, seller = _party(State.COMPLETED, "seller")
    cleared_at = timezone.now() + settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1)
    with time_machine.travel(cleared_at, tick=False):
        assert timers_run_due()["cleared"] == 1
    return Visit(seller, name, then=then)


SCENES: dict[str, Callable[[], Visit]] = {
    # Anyone
    "offers": lambda: Visit(None, "offers"),
    "offer": lambda: Visit(None, "offer", {"offer_id": _offer()[0].pk}),
    "offer-reviewed": _reviewed_offer,
    "signup": lambda: Visit(None, "signup"),
    "signup-errors": lambda: Visit(
        None,
        "signup",
        then=_send_back("Create account", {"Username": "ana", "Password": "plum-orchard"}),
    ),
    "login": lambda: Visit(None, "login"),
    "login-error": lambda: Visit(
        None,
        "login",
        then=_send_back("Log in", {"Username": make_user("ana").username, "Password": "wrong"}),
    ),
    "locked-out": lambda: Visit(None, "login", then=_locked_out),
    "password-change": lambda: Visit(make_user("ana"), "password_change"),
    "password-change-errors": lambda: Visit(
        make_user("ana"), "password_change", then=_send_back("Change password")
    ),
    # The buyer
    "order-form": lambda: _to_offer(_offer(), "order_new"),
    "order-form-errors": lambda: _with(_to_offer(_offer(), "order_new"), _send_back("Place order")),
    "orders": lambda: Visit(_party(State.IN_PROGRESS)[1], "orders"),
    "order-unpaid": lambda: _on_order("order", State.PENDING_PAYMENT),
    "order-answers": lambda: _on_order("order_answers", State.PENDING_PAYMENT),
    "order-in-progress": lambda: _on_order("order", State.IN_PROGRESS),
    "order-delivered-previews": lambda: _to_order(_delivered_with_previews()),
    "order-every-preview-kind": _every_preview_kind,
    "order-cancellation-asked": lambda: _on_order(
        "order", State.CANCELLATION_REQUESTED, from_state=State.DELIVERED, requested_by=Actor.SELLER
    ),
    "order-disputed": lambda: _on_order("order", State.DISPUTED, from_state=State.DELIVERED),
    "order-completed": lambda: _on_order("order", State.COMPLETED),
    "confirm-accept": lambda: _on_order("order_accept", State.DELIVERED),
    "request-revision": lambda: _on_order("order_request_revision", State.DELIVERED),
    "open-dispute": lambda: _on_order("order_open_dispute", State.DELIVERED),
    "open-dispute-errors": lambda: _with(
        _on_order("order_open_dispute", State.DELIVERED),
        _send_back("Yes, open the dispute"),
    ),
    "decline-cancellation": lambda: _on_order(
        "order_decline_cancellation",
        State.CANCELLATION_REQUESTED,
        from_state=State.DELIVERED,
        requested_by=Actor.SELLER,
    ),
    "review": lambda: _on_order("order_review", State.COMPLETED),
    "review-errors": lambda: _with(
        _on_order("order_review", State.COMPLETED), _send_back("Send the review")
    ),
    "report": lambda: _on_order("order_report", State.DELIVERED),
    # The seller
    "grant-revision": _grant_revision,
    "sales": lambda: Visit(_party(State.IN_PROGRESS, "seller")[1], "sales"),
    "my-offers": lambda: Visit(_offer("seller")[1], "my_offers"),
    "offer-new": lambda: Visit(make_user("studio"), "offer_new"),
    "offer-new-errors": lambda: Visit(
        make_user("studio"), "offer_new", then=_send_back("Publish the offer")
    ),
    "offer-edit": lambda: _to_offer(_offer("seller"), "offer_edit"),
    "order-awaiting-acceptance": lambda: _on_order("order", State.AWAITING_ACCEPTANCE, "seller"),
    "order-seller-delivered": lambda: _to_order(_delivered_with_previews("seller")),
    "deliver": lambda: _on_order("order_deliver", State.IN_PROGRESS, "seller"),
    "release-early": _release_early,
    "request-cancellation": lambda: _on_order(
        "order_request_cancellation", State.IN_PROGRESS, "seller"
    ),
    # Support and money
    "dispute-queue": lambda: _dispute("queue"),
    "dispute": lambda: _dispute("page"),
    "dispute-decision-errors": lambda: _dispute("page", _split_too_large),
    "dispute-confirm-decision": lambda: _dispute("page", _split),
    "balance": lambda: _money("balance"),
    "payout": lambda: _money("payout"),
    "payout-errors": lambda: _money("payout", _send_back("Review the payout", {"Amount": "a lot"})),
    "payout-confirm": lambda: _money(
        "payout", _send_back("Review the payout", {"Amount": "50"}, errors=False)
    ),
}


# --- the check ----------------------------------------------------------------------------


def _log_in(page: Page, base_url: str, user: User) -> None:
    """Hand the browser a session cookie: the log-in page has its own entry above."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}]
    )


def _answer(route: Route, script: str) -> None:
    route.fulfill(status=200, content_type="application/javascript", body=script)


def _axe(page: Page) -> dict[str, Any]:
    # A <script src> on the page's own origin, which Playwright answers with axe-core: the
    # page's CSP (script-src 'self') stays in force, so axe sees the page exactly as served,
    # where inline content (add_script_tag(content=...)) would need bypass_csp=True.
    if not page.evaluate("() => 'axe' in window"):  # once per page load, not per width
        page.add_script_tag(url=SCRIPT_PATH)
    # Passes and inapplicable rules are summed up, not listed node by node: the audit reads
    # only violations and incomplete checks, and listing every passing node is most of axe's time.
    results: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations', 'incomplete']})"
    )
    return results


def _audit(page: Page, label: str, artifacts) -> list[str]:
    problems: list[str] = []
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        if size is PHONE:
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"phone: {width} px wide at {PHONE['width']} px")
        results = _axe(page)
        problems += [f"{size_name}: {line}" for line in blocking_violations(results)]
        # Everything axe found, the minor and moderate too, to read beside the screenshot.
        findings = {k: results[k] for k in ("violations", "incomplete")}
        (artifacts / f"{label}-{size_name}-axe.json").write_text(json.dumps(findings, indent=1))
        page.screenshot(path=artifacts / f"{label}-{size_name}.png", full_page=True)
    return problems


@pytest.fixture
def axe_script() -> str:
    return axe_source()


@pytest.fixture
def server_errors() -> Iterator[list[BaseException]]:
    """The exceptions the live server's views raised during the test."""
    errors: list[BaseException] = []

    def record(sender: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]  # the signal is sent from inside the handler's except
        if error is not None:
            errors.append(error)

    got_request_exception.connect(record, weak=False)
    yield errors
    got_request_exception.disconnect(record)


def _skip_if_unbuilt(path: str, errors: list[BaseException]) -> None:
    """A page whose template links to a route another change has yet to add is unfinished
    work, not an accessibility failure: skip it and say which route."""
    missing = [str(e) for e in errors if isinstance(e, NoReverseMatch)]
    if missing:
        pytest.skip(f"{path} links to a route not built yet: {missing[0]}")


@pytest.mark.parametrize("scene", list(SCENES))
def test_page_has_no_serious_accessibility_violation(
    scene: str, page: Page, browser_server, artifacts, axe_script: str, server_errors
):
    visit = SCENES[scene]()
    try:
        path = reverse(f"web:{visit.name}", kwargs=visit.kwargs)
    except NoReverseMatch:
        pytest.skip(f"no route web:{visit.name} yet")
    url = browser_server.url
    page.route(url + SCRIPT_PATH, lambda route: _answer(route, axe_script))
    if visit.user is not None:
        _log_in(page, url, visit.user)
    response = page.goto(url + path)
    assert response is not None
    if response.status == 404:
        pytest.skip(f"{path} answers 404: the page is not built yet")
    _skip_if_unbuilt(path, server_errors)
    assert response.ok, f"{path} answered {response.status}"
    # Not sent to the log-in page or elsewhere: the audit is of the page asked for.
    assert page.url == url + path, page.url
    if visit.then is not None:
        visit.then(page)
        page.wait_for_load_state("networkidle")
    problems = _audit(page, scene, artifacts)
    assert problems == [], f"{path}:\n" + "\n".join(problems)


def test_the_check_finds_what_it_looks_for(page: Page, browser_server, axe_script: str):
    """A page spoiled on purpose fails it, so a green run means something."""
    url = browser_server.url
    page.route(url + SCRIPT_PATH, lambda route: _answer(route, axe_script))
    page.goto(url + reverse("web:login"))
    assert blocking_violations(_axe(page)) == []
    page.evaluate(
        """() => {
          const main = document.querySelector("main") || document.body;
          main.insertAdjacentHTML("beforeend", '<img src="/static/none.png"><input id="bare">');
        }"""
    )
    found = "\n".join(blocking_violations(_axe(page)))
    assert "critical image-alt" in found and "#bare" in found, found
