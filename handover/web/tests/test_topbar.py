"""The top bar fits its viewer: buying links always, selling links once the user has an
offer, support links for support; on a phone one row with a "Menu" button that opens
without scripts (a <details>)."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from handover.accounts.models import Role
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.web.tests.axe import SCRIPT_PATH, axe_source
from handover.web.tests.helpers import DESKTOP, PHONE, Snapshots
from handover.web.tests.test_a11y import _answer, _audit
from handover.web.tests.test_browser import log_in

BUYING = ["Offers", "Your orders"]
SELLING = ["Your sales", "Your offers", "Balance"]


def _nav(client: Client) -> str:
    html = client.get(reverse("web:offers")).content.decode()
    found = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', html, re.S)
    assert found is not None
    return found.group(1)


def _links(nav: str) -> list[str]:
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


@pytest.mark.django_db
def test_a_buyer_sees_buying_links_and_a_way_to_start_selling():
    client = Client()
    client.force_login(make_user("ana"))
    nav = _nav(client)
    assert _links(nav) == [*BUYING, "Sell your work", "Notifications", "Account"]
    assert "<details" in nav and "Log out" in nav


@pytest.mark.django_db
def test_a_seller_sees_the_selling_links_once_they_have_an_offer():
    seller = make_user("studio")
    client = Client()
    client.force_login(seller)
    assert not set(SELLING) & set(_links(_nav(client)))
    make_offer(seller)
    assert _links(_nav(client)) == [*BUYING, *SELLING, "Notifications", "Account"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SUPPORT, Role.OPERATOR])
def test_support_sees_the_support_links(role):
    client = Client()
    client.force_login(make_user("agent", role))
    links = _links(_nav(client))
    assert "Support desk" in links and "Your sales" not in links


@pytest.mark.django_db
def test_a_member_is_shown_no_support_link():
    client = Client()
    client.force_login(make_user("ana"))
    assert "Support desk" not in _links(_nav(client))


@pytest.mark.django_db
def test_a_visitor_sees_offers_and_how_to_come_in_without_a_menu():
    nav = _nav(Client())
    assert _links(nav) == ["Offers", "Log in", "Sign up"]
    assert "<details" not in nav


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_top_bar_is_one_row_on_a_phone_and_its_menu_opens(
    page: Page, browser_server, page_watch, artifacts
):
    seller = make_user("studio")
    make_offer(seller)
    script = axe_source()
    page.route(browser_server.url + SCRIPT_PATH, lambda route: _answer(route, script))
    log_in(page, browser_server.url, seller.username)
    toggle = page.get_by_text("Menu", exact=True)
    links = page.get_by_role("navigation", name="Main")
    # One row: the brand, the menu button and "Log out" share a line; the links are folded.
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 70, header
    expect(links.get_by_role("link", name="Your sales")).to_be_hidden()
    Snapshots(page, artifacts)("closed")
    toggle.click()
    expect(links.get_by_role("link", name="Your sales")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _audit(page, "menu-open", artifacts) == []
    links.get_by_role("link", name="Your sales").click()
    expect(page.get_by_role("heading", name="Your sales")).to_be_visible()
    # On a desktop every link shows in one row and the button is gone.
    page.set_viewport_size(DESKTOP)
    expect(toggle).to_be_hidden()
    boxes = [
        links.get_by_role("link", name=name, exact=True).bounding_box()
        for name in [*BUYING, *SELLING]
    ]
    assert len({round(box["y"]) for box in boxes if box}) == 1, boxes
    page.set_viewport_size(PHONE)
    assert page_watch.problems == []
