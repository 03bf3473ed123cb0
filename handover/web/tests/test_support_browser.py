"""The support desk in a real browser (Debian's Chromium): an agent works a dispute from the
queue to a split decision, and the seller then sees the money on the balance page.

Each page is checked at a phone's width (no horizontal scrolling at 390 px) and saved as a
screenshot at phone and desktop widths, to look at."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from handover.accounts.models import Role
from handover.delivery.previewing import preview_make
from handover.disputes.models import Dispute, SupportNote
from handover.ops.demo import demo_png
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.actors import PASSWORD, Api, make_user
from handover.testing.factories import make_offer
from handover.testing.steps import ok, open_dispute
from handover.web.tests.helpers import Snapshots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()
    # Let the page's own requests (its favicon) finish: leaving at once would abort them.
    page.wait_for_load_state("networkidle")


def disputed_order(seller, buyer) -> tuple[int, int]:
    """A paid order with a PNG delivered (its preview made) and a chat message, which the
    buyer disputes; the order's id and the dispute's."""
    buyer_api, seller_api = Api(buyer), Api(seller)
    offer = make_offer(seller, title="Bakery logo")
    answers = {"answers": ["Acme Bakery", "Warm brown and cream"], "offer_id": offer.pk}
    order_id = ok(buyer_api.post("/orders", answers), 201)["id"]
    ok(buyer_api.act(order_id, "pay"))
    ok(
        buyer_api.post(
            f"/orders/{order_id}/messages", {"text": "Rounder? Write to ana@example.com"}
        ),
        201,
    )
    delivery = ok(
        seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={
                "text": "Three concepts, as agreed.",
                "files": [SimpleUploadedFile("concepts.png", demo_png(2, size=96))],
                "checklist": '[{"requirement": 0, "note": "name set in the wordmark"}]',
            },
        ),
        201,
    )
    preview_make(file_id=delivery["files"][0]["id"])
    buyer_api.get(f"/files/{delivery['files'][0]['id']}/original")  # refused, and logged
    return order_id, open_dispute(buyer_api, order_id, "None of the concepts use our colours.")


def test_support_splits_a_dispute_after_a_confirmation(
    page: Page, browser_server, page_watch, artifacts
):
    seller, buyer = make_user("studio"), make_user("ana")
    agent = make_user("agent", Role.SUPPORT)
    order_id, dispute_id = disputed_order(seller, buyer)
    snap = Snapshots(page, artifacts)
    url = browser_server.url

    log_in(page, url, agent.username)
    page.goto(url + "/support/disputes/")
    expect(page.get_by_role("heading", name="Dispute queue")).to_be_visible()
    expect(page.get_by_text("On time")).to_be_visible()
    expect(page.locator(".flag")).to_have_text(re.compile("Contact details shared"))
    snap("queue")

    page.get_by_role("link", name=f"Dispute #{dispute_id}: Bakery logo").click()
    expect(page.get_by_role("heading", name=re.compile(f"Dispute #{dispute_id}"))).to_be_visible()
    expect(page.get_by_text("Not ticked in any delivery")).to_be_visible()
    expect(page.get_by_role("link", name="Preview part 1")).to_be_visible()
    expect(page.locator(".timeline__item--delivery")).to_have_count(1)
    snap("dispute")

    page.get_by_label("Internal note", exact=True).fill("Colours were asked for and not used.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(page.locator(".note")).to_contain_text("Colours were asked for and not used.")

    page.get_by_role("radio", name=re.compile("Split")).check()
    page.get_by_label("Refund to the buyer, for a split").fill("52.755")
    page.get_by_label("Rationale").fill("The wordmark is done; the colours were not used.")
    page.get_by_role("button", name="Review the decision").click()
    expect(page.get_by_text("EUR amounts have at most 2 decimals.")).to_be_visible()
    snap("decision-error")

    page.get_by_label("Refund to the buyer, for a split").fill("52.75")
    page.get_by_role("button", name="Review the decision").click()
    expect(page.get_by_role("heading", name="Split the money?")).to_be_visible()
    expect(page.locator(".money-moves")).to_contain_text("52.75 EUR")
    expect(page.locator(".money-moves")).to_contain_text("40.00 EUR")
    assert Dispute.objects.get(pk=dispute_id).decided_at is None
    snap("confirm-decision")

    page.get_by_role("button", name="Yes, decide: split").click()
    expect(page.get_by_text("Dispute decided.")).to_be_visible()
    expect(page.locator("#decision")).to_contain_text("Split")
    snap("decided")

    dispute = Dispute.objects.get(pk=dispute_id)
    assert (dispute.outcome, dispute.refund, dispute.decided_by) == ("split", 5275, agent)
    assert Order.objects.get(pk=order_id).state == State.COMPLETED
    assert SupportNote.objects.get(dispute=dispute).text == "Colours were asked for and not used."

    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.wait_for_load_state("networkidle")
    log_in(page, url, seller.username)
    page.goto(url + "/balance/")
    expect(page.locator(".balance")).to_contain_text("40.00 EUR")
    snap("balance")
    page.wait_for_load_state("networkidle")
    page.goto(url + "/balance/payout/")
    expect(page.get_by_role("heading", name="Request a payout")).to_be_visible()
    snap("payout")
    assert page_watch.problems == []
