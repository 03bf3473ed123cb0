"""The reports desk's part of support's day in a real browser (test_support_console_browser
ends with it): an agent reads a report from the queue and suspends the reported seller after
confirming; the seller then cannot log in, and the log-in page says why.

Each page is checked with axe-core (no serious or critical violation), at a phone's width
(no horizontal scrolling at 390 px), and saved as a screenshot at phone and desktop widths."""

import re

from playwright.sync_api import Page, expect

from handover.evidence.models import Event, EventType
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.actors import PASSWORD
from handover.trust.models import Suspension
from handover.web.tests.axe import SCRIPT_PATH, axe_source, blocking_violations
from handover.web.tests.helpers import DESKTOP, PHONE, Snapshots, nav_to

RATIONALE = "Asked the buyer of order {n} to pay by bank transfer, outside escrow."


class Checked(Snapshots):
    """Snapshots that also run axe-core on the page, at both widths."""

    def __init__(self, page: Page, folder, url: str):
        super().__init__(page, folder)
        script = axe_source()
        page.route(url + SCRIPT_PATH, lambda route: route.fulfill(body=script))

    def __call__(self, name: str, page: Page | None = None) -> None:
        super().__call__(name, page)
        page = page or self.page
        if not page.evaluate("() => 'axe' in window"):
            page.add_script_tag(url=SCRIPT_PATH)
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            assert blocking_violations(results) == [], f"{name} at {size['width']} px"
        page.set_viewport_size(PHONE)


def report_handled_by_suspending(
    page: Page, url: str, snap: Snapshots, *, seller, agent, report, order_id: int
) -> None:
    """Support, signed in, goes from the desk's home to the report, suspends the reported
    seller after confirming, and signs out; the seller then cannot log in, and is told why.
    The last part of support's day (test_support_console_browser)."""
    nav_to(page, "Support desk")
    page.get_by_role("link", name=re.compile("report waiting to be handled")).click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.get_by_text("Asked to pay or be paid outside Handover")).to_be_visible()
    snap("reports")

    page.get_by_role("link", name=f"Report #{report.pk}: {seller.username}").click()
    expect(page.get_by_role("heading", name=re.compile(f"Report #{report.pk}"))).to_be_visible()
    expect(page.get_by_text("pay the rest by bank transfer")).to_be_visible()
    open_orders = page.get_by_role("region", name="Open orders")
    expect(open_orders.get_by_role("link", name=re.compile(f"^#{order_id}: "))).to_be_visible()
    snap("report")

    suspend_box = page.get_by_role("region", name=f"Suspend {seller.username}")
    suspend_box.get_by_role("button", name="Suspend…").click()
    expect(page.locator("#id_suspend_rationale_error")).to_have_text("This field is required.")
    snap("suspend-error")

    rationale = RATIONALE.format(n=order_id)
    suspend_box = page.get_by_role("region", name=f"Suspend {seller.username}")
    suspend_box.get_by_label("Rationale").fill(rationale)
    suspend_box.get_by_role("button", name="Suspend…").click()
    expect(page.get_by_role("heading", name=f"Suspend {seller.username}?")).to_be_visible()
    assert not Suspension.objects.exists()
    snap("confirm-suspend")

    page.get_by_role("button", name=f"Yes, suspend {seller.username}").click()
    expect(page.get_by_text(f"{seller.username} is suspended")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Reinstate {seller.username}")).to_be_visible()
    snap("suspended")

    page.get_by_role("link", name=seller.username, exact=True).click()
    expect(page.get_by_role("heading", name=seller.username, exact=True)).to_be_visible()
    expect(page.get_by_text(rationale)).to_be_visible()
    snap("user")

    suspension = Suspension.objects.get(user=seller)
    assert (suspension.rationale, suspension.started_by, suspension.report) == (
        rationale,
        agent,
        report,
    )
    event = Event.objects.get(type=EventType.USER_SUSPENDED)
    assert event.payload["rationale"] == rationale and event.actor == agent
    assert Order.objects.get(pk=order_id).state == State.IN_PROGRESS  # goes on

    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.goto(url + "/login/")
    page.get_by_label("Username").fill(seller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("This account is suspended by support")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()  # still signed out
    snap("login-refused")
