"""A buyer's reference files in a real browser: photos attached to a requirement answer when
ordering and to a chat message, which the seller opens, whole, before delivering."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from handover.evidence.models import EventType
from handover.orders.models import Attachment
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.web.tests.test_browser import Snapshots
from handover.web.tests.test_stories import Windows, deliver, moves, order_of, png, windows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["windows"]  # the fixture, used by name


def photo(name: str, seed: int) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": png(seed)}


def downloaded(page: Page, name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=name, exact=True).click()
    return Path(info.value.path()).read_bytes()


def test_the_seller_opens_the_buyers_reference_photos_before_delivering(
    windows: Windows, browser_server, artifacts: Path
):
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Bakery logo", price=12000)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    buyer_page.goto(f"{url}/offers/{offer.pk}/")
    buyer_page.get_by_role("link", name="Continue to order").click()
    buyer_page.get_by_label("Company name?").fill("Acme Bakery")
    buyer_page.get_by_label("Colours?").fill("As on the shop front and the old sign")
    buyer_page.get_by_label("Files for question 2").set_input_files(
        [photo("shop-front.png", 21), photo("old-sign.png", 22)]
    )
    snap("buyer-order-form-with-photos")
    buyer_page.get_by_role("button", name="Place order").click()
    buyer_page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(buyer_page.get_by_text("Paid. Your money is held in escrow")).to_be_visible()
    order_url = buyer_page.url
    answers = buyer_page.locator(".qa")
    expect(answers.get_by_role("link")).to_have_text(["shop-front.png", "old-sign.png"])

    chat = buyer_page.locator("#chat")
    chat.get_by_label("Message").fill("And the bread we bake, for the icon.")
    chat.get_by_label("Attach files").set_input_files([photo("loaf.png", 23)])
    chat.get_by_role("button", name="Send message").click()
    expect(chat.locator(".chat__message").get_by_role("link")).to_have_text(["loaf.png"])
    snap("buyer-chat-with-a-photo")

    seller_page = windows.open(seller)
    seller_page.goto(order_url)
    expect(seller_page.locator("#chat form input[type=file]")).to_have_count(0)
    snap("seller-sees-the-reference-photos", seller_page)
    assert downloaded(seller_page, "shop-front.png") == png(21)
    assert downloaded(seller_page, "old-sign.png") == png(22)
    assert downloaded(seller_page, "loaf.png") == png(23)
    deliver(seller_page, order_url, "logo.png", 1, "Drawn from your photos.")

    order = order_of(order_url)
    assert [(a.name, a.requirement, a.message_id is not None) for a in order.attachments.all()] == [
        ("shop-front.png", 1, False),
        ("old-sign.png", 1, False),
        ("loaf.png", None, True),
    ]
    events = list(order.events.order_by("id").values_list("type", "actor", "payload"))
    opened = [n for n, e in enumerate(events) if e[0] == EventType.ATTACHMENT_DOWNLOADED]
    delivered = next(n for n, e in enumerate(events) if e[2].get("action") == "deliver")
    assert len(opened) == 3 and max(opened) < delivered  # opened before delivering
    assert {events[n][1] for n in opened} == {seller.pk}
    assert Attachment.objects.count() == 3 and moves(order)[-1] == "deliver"
    assert windows.problems == []
