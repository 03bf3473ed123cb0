"""The support console in a real browser (Debian's Chromium): support's day from the log-in
through the "Support desk" link to a confirmed transfer, a settled cancellation request and a
report handled by suspending the reported seller, who then cannot log in; and every new page
of the console checked with axe-core at phone and desktop widths.

Each page of the story is checked at a phone's width (no horizontal scrolling at 390 px) and
saved as a screenshot at phone and desktop widths, to look at."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from handover.accounts.models import Role
from handover.disputes.models import Dispute
from handover.evidence.models import Event, EventType
from handover.orders.feedback import order_report
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.orders.services import order_pay
from handover.testing.actors import make_user
from handover.testing.factories import order_in_state
from handover.web.tests.axe import SCRIPT_PATH, axe_source
from handover.web.tests.helpers import Snapshots, nav_to
from handover.web.tests.report_steps import Checked, report_handled_by_suspending
from handover.web.tests.test_a11y import _answer, _audit, _log_in
from handover.web.tests.test_support_browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _orders(settings, buyer, seller, agent) -> tuple[Order, Order]:
    """An order the buyer pays by bank transfer, and a delivered one whose buyer asks to
    cancel with half of the total back."""
    cast = {"buyer": buyer, "seller": seller, "support": agent}
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    transfer = order_in_state(State.PENDING_PAYMENT, **cast)
    settings.HANDOVER_PAYMENT_PROVIDER = "test"
    order_pay(order_id=transfer.pk, user=buyer)
    requested = order_in_state(
        State.CANCELLATION_REQUESTED, **cast, from_state=State.DELIVERED, refund=5275
    )
    transfer.refresh_from_db()
    return transfer, requested


def test_support_s_day_an_order_found_a_transfer_confirmed_a_cancellation_settled_a_user_suspended(
    page: Page, browser_server, page_watch, artifacts, settings
):
    buyer, seller = make_user("ana"), make_user("studio")
    agent = make_user("agent", Role.SUPPORT)
    transfer, requested = _orders(settings, buyer, seller, agent)
    snap = Snapshots(page, artifacts)
    url = browser_server.url

    log_in(page, url, agent.username)
    nav_to(page, "Support desk")
    expect(page.get_by_role("heading", name="Support desk")).to_be_visible()
    expect(page.locator(".count").filter(has_text="bank transfer to confirm")).to_contain_text("1")
    expect(page.locator(".count").filter(has_text="open dispute")).to_contain_text("0")
    snap("home")

    page.get_by_label(re.compile("Find an order")).fill(f"#{transfer.pk}")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.locator(".row")).to_have_count(1)
    snap("found")

    page.get_by_role("link", name=re.compile(f"#{transfer.pk}:")).click()
    expect(page.get_by_role("heading", name=re.compile(f"Order #{transfer.pk}"))).to_be_visible()
    expect(page.locator(".badge").first).to_have_text(re.compile("Awaiting payment"))
    snap("transfer-order")

    page.get_by_role("link", name="Confirm the transfer").click()
    page.get_by_role("button", name="Review the confirmation").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    snap("transfer-error")

    page.get_by_label("Rationale").fill(
        f"The bank shows 105.50 EUR with {transfer.payment_reference}."
    )
    page.get_by_role("button", name="Review the confirmation").click()
    expect(page.get_by_role("heading", name="Confirm that 105.50 EUR arrived?")).to_be_visible()
    assert Order.objects.get(pk=transfer.pk).state == State.PENDING_PAYMENT
    snap("transfer-confirm")

    page.get_by_role("button", name="Yes, confirm the transfer").click()
    expect(page.get_by_text("Transfer confirmed: the money is held in escrow.")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("The bank shows 105.50 EUR")
    snap("transfer-done")
    assert Order.objects.get(pk=transfer.pk).state == State.IN_PROGRESS

    desk = page.get_by_role("navigation", name="Support desk")
    desk.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_label("State").select_option("cancellation_requested")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile(f"#{requested.pk}:")).click()
    expect(page.get_by_text("The buyer asks to cancel")).to_be_visible()
    page.get_by_role("link", name="Settle the cancellation request").click()
    page.get_by_role("radio", name=re.compile("Accept")).check()
    page.get_by_label("Rationale").fill(
        "The seller agreed by e-mail; their answer did not go through."
    )
    page.get_by_role("button", name="Review the settlement").click()
    expect(page.get_by_role("heading", name=f"Cancel order #{requested.pk}?")).to_be_visible()
    expect(page.locator(".money-moves")).to_contain_text("52.75 EUR")
    snap("settle-confirm")

    page.get_by_role("button", name="Yes, cancel the order").click()
    expect(page.get_by_text(re.compile("Cancellation accepted"))).to_be_visible()
    snap("settled")

    order = Order.objects.get(pk=requested.pk)
    assert (order.state, order.refunded) == (State.CANCELLED, 5275)
    event = Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION).last()
    assert event is not None
    assert (event.actor, event.actor_role) == (agent, Actor.SUPPORT)
    assert event.payload["text"].startswith("The seller agreed by e-mail")

    # The buyer reports the seller of the paid order; support suspends them from the report.
    report = order_report(
        order_id=transfer.pk,
        reporter=buyer,
        subject_id=seller.pk,
        reason="off_platform_payment",
        text="The seller asked me to pay the rest by bank transfer.",
    )
    checked = Checked(page, artifacts, url)
    checked.count = snap.count  # the day's screenshots numbered on
    report_handled_by_suspending(
        page,
        url,
        checked,
        seller=seller,
        agent=agent,
        report=report,
        order_id=transfer.pk,
    )
    assert page_watch.problems == []


# --- accessibility of each new page ----------------------------------------------------------


@pytest.fixture
def axe_script() -> str:
    return axe_source()


def test_the_consoles_pages_have_no_serious_accessibility_violation(
    page: Page, browser_server, artifacts, axe_script: str, settings
):
    buyer, seller = make_user("ana"), make_user("studio")
    agent = make_user("agent", Role.SUPPORT)
    transfer, requested = _orders(settings, buyer, seller, agent)
    disputed = order_in_state(State.DISPUTED, buyer=buyer, seller=seller, support=agent)
    dispute = Dispute.objects.get(order=disputed)
    url = browser_server.url
    page.route(url + SCRIPT_PATH, lambda route: _answer(route, axe_script))
    _log_in(page, url, agent)
    settle = reverse("web:support_settle_cancellation", args=[requested.pk])
    pages = {
        "home": (reverse("web:support_home"), None),
        "orders": (reverse("web:support_orders"), None),
        "orders-errors": (reverse("web:support_orders") + "?placed_from=2026-13-45&q=x", None),
        "order": (reverse("web:support_order", args=[requested.pk]), None),
        "confirm-payment": (reverse("web:support_confirm_payment", args=[transfer.pk]), None),
        "order-transfer": (reverse("web:support_order", args=[transfer.pk]), None),
        "open-dispute": (reverse("web:support_open_dispute", args=[requested.pk]), None),
        "settle-errors": (settle, "Review the settlement"),
        "settle-confirm": (settle, "accept"),
        "queue-filtered": (reverse("web:dispute_queue") + "?state=open&agent=none", None),
        "dispute": (reverse("web:dispute", args=[dispute.pk]), None),
    }
    problems = []
    for label, (path, then) in pages.items():
        page.goto(url + path)
        if then == "accept":
            page.get_by_role("radio", name=re.compile("Accept")).check()
            page.get_by_label("Rationale").fill("Both agreed by e-mail.")
            page.get_by_role("button", name="Review the settlement").click()
            expect(page.get_by_role("heading", name=re.compile("Cancel order"))).to_be_visible()
        elif then:
            page.get_by_role("button", name=then).click()
            expect(page.locator(".errorlist").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        problems += [f"{label}: {p}" for p in _audit(page, label, artifacts)]
    member = make_user("zoe")
    _log_in(page, url, member)
    response = page.goto(url + reverse("web:support_home"))
    assert response is not None and response.status == 403
    problems += [f"forbidden: {p}" for p in _audit(page, "forbidden", artifacts)]
    assert problems == []
