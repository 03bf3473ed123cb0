"""The pages in a real browser (Debian's Chromium): a buyer's first order, end to end.

Each page is checked at a phone's width (no horizontal scrolling at 390 px) and saved as a
screenshot at phone and desktop widths, to look at."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from handover.conftest import make_offer, make_user
from handover.orders.models import Order
from handover.orders.rules import State
from handover.web.tests.helpers import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Snapshots:
    def __init__(self, page: Page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0

    def __call__(self, name: str) -> None:
        """Check the page at 390 px, then save it at phone and desktop widths."""
        self.count += 1
        page = self.page
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px wide at {PHONE['width']} px"
        stem = f"{self.count:02d}-{name}"
        page.screenshot(path=self.folder / f"{stem}-phone.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=self.folder / f"{stem}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)


def test_a_new_buyer_orders_and_pays(page: Page, browser_server, page_watch, artifacts):
    seller = make_user("studio")
    make_offer(seller, title="Logo design", price=10000, currency="EUR")
    snap = Snapshots(page, artifacts)

    page.goto(browser_server.url + "/")
    expect(page.get_by_role("heading", name="Offers")).to_be_visible()
    snap("offers")

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password", exact=True).fill("plum-orchard-lantern")
    page.get_by_label("Password confirmation").fill("plum-orchard-lantern")
    snap("signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome, ana.")).to_be_visible()

    page.get_by_role("link", name="Logo design").click()
    expect(page.get_by_role("heading", name="Logo design")).to_be_visible()
    snap("offer")

    page.get_by_role("link", name="Continue to order").click()
    expect(page.locator(".facts--amounts dd.total")).to_have_text("105.50 EUR")
    page.get_by_label("Company name?").fill("Acme Bakery")
    page.get_by_label("Colours?").fill("Warm brown and cream")
    snap("order-form")
    page.get_by_role("button", name="Place order").click()

    expect(page.locator(".badge")).to_have_text("Awaiting payment")
    snap("order-unpaid")
    page.get_by_role("button", name="Pay 105.50 EUR").click()
    expect(page.get_by_text("Paid. Your money is held in escrow")).to_be_visible()
    expect(page.locator(".badge")).to_have_text("In progress")
    expect(page.get_by_text(re.compile(r"Delivery due in 2 days 23 hours"))).to_be_visible()
    expect(page.get_by_text("Acme Bakery")).to_be_visible()

    page.get_by_label("Message", exact=True).fill("Hello! The bakery opens in May.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator(".chat__message")).to_have_count(1)
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    snap("order-paid")

    page.get_by_role("link", name="Your orders").click()
    expect(page.get_by_role("link", name=re.compile("Logo design"))).to_be_visible()
    snap("orders")

    order = Order.objects.get(buyer__username="ana")
    assert order.state == State.IN_PROGRESS
    assert [r["answer"] for r in order.requirements] == ["Acme Bakery", "Warm brown and cream"]
    assert order.messages.get().body == "Hello! The bakery opens in May."
    assert page_watch.problems == []
