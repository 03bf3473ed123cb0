"""The four stories of the web app, played in a real browser (Debian's Chromium) through the
pages only: each person has their own window, signed in once. Only the offer comes from a
fixture, and the preview worker's step is run where the worker would run it.

Each key page is checked at a phone's width (no horizontal scrolling at 390 px) and saved as
a screenshot at phone and desktop widths, to look at."""

import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from handover.accounts.models import Role, User
from handover.disputes.models import Dispute, Outcome
from handover.evidence.models import EventType
from handover.ledger.models import AccountKind, Entry, TransactionKind
from handover.ledger.rules import shares
from handover.lib.money import format_amount
from handover.offers.models import Offer
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.files import png_bytes
from handover.testing.steps import previews_run
from handover.trust.models import Report, Review
from handover.web.tests.conftest import PageWatch
from handover.web.tests.helpers import nav_to
from handover.web.tests.test_browser import Snapshots
from handover.web.tests.test_support_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Windows:
    """One browser window (its own context, so its own session) per person."""

    def __init__(self, browser: Browser, context_args: dict, url: str):
        self.browser, self.context_args, self.url = browser, context_args, url
        self.opened: list[tuple] = []

    def open(self, user: User) -> Page:
        context = self.browser.new_context(**self.context_args)
        page = context.new_page()
        self.opened.append((context, PageWatch(page, self.url)))
        log_in(page, self.url, user.username)
        return page

    @property
    def problems(self) -> list[str]:
        return [problem for _context, watch in self.opened for problem in watch.problems]


@pytest.fixture
def windows(browser, browser_context_args, browser_server) -> Iterator[Windows]:
    opened = Windows(browser, browser_context_args, browser_server.url)
    yield opened
    for context, _watch in opened.opened:
        context.close()


def order_and_pay(page: Page, url: str, offer: Offer) -> str:
    """The buyer orders the offer and pays; the order page's address."""
    page.goto(f"{url}/offers/{offer.pk}/")
    page.get_by_role("link", name="Continue to order").click()
    page.get_by_label("Company name?").fill("Acme Bakery")
    page.get_by_label("Colours?").fill("Warm brown and cream")
    page.get_by_role("button", name="Place order").click()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_text("Paid. Your money is held in escrow")).to_be_visible()
    return page.url


def deliver(page: Page, order_url: str, name: str, seed: int, message: str) -> None:
    """The seller delivers one PNG from the order page."""
    page.goto(order_url)
    page.get_by_role("link", name=re.compile(r"^Deliver the")).click()
    page.get_by_label("Message to the buyer").fill(message)
    picture: FilePayload = {"name": name, "mimeType": "image/png", "buffer": png(seed)}
    page.get_by_label("Files").set_input_files([picture])
    page.get_by_role("button", name="Deliver", exact=True).click()
    expect(page.get_by_text("Delivered 1 file.")).to_be_visible()


def png(seed: int) -> bytes:
    return png_bytes(320, 240, seed=seed)


def order_of(order_url: str) -> Order:
    found = re.search(r"/orders/(\d+)/", order_url)
    assert found is not None, order_url
    return Order.objects.get(pk=int(found.group(1)))


def moves(order: Order) -> list[str]:
    transitions = order.events.filter(type=EventType.ORDER_TRANSITION).order_by("id")
    return [event.payload["action"] for event in transitions]


def test_the_seeds_story_ends_with_support_releasing_and_the_buyer_downloading(
    windows: Windows, browser_server, artifacts: Path
):
    """The seller delivers, the buyer asks to cancel, the seller declines, the buyer opens a
    dispute, support releases the payment, and the buyer downloads the original."""
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    agent = make_user("agent", Role.SUPPORT)
    offer = make_offer(seller, title="Logo design", price=12000, revisions=2)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    order_url = order_and_pay(buyer_page, url, offer)
    seller_page = windows.open(seller)
    deliver(seller_page, order_url, "logo.png", 1, "Three concepts, as asked.")
    assert previews_run() == 1  # what the worker does next

    buyer_page.goto(order_url)
    expect(buyer_page.get_by_text("The original files unlock when you accept")).to_be_visible()
    expect(buyer_page.locator(".thumb img")).to_have_js_property("complete", True)
    buyer_page.get_by_role("link", name="Ask to cancel").click()
    buyer_page.get_by_label("Why cancel?").fill("I changed my mind.")
    snap("buyer-asks-to-cancel", buyer_page)
    buyer_page.get_by_role("button", name="Send the request").click()
    expect(buyer_page.get_by_role("heading", name="You asked to cancel")).to_be_visible()

    seller_page.goto(order_url)
    expect(seller_page.get_by_role("heading", name="The buyer asks to cancel")).to_be_visible()
    snap("seller-sees-the-request", seller_page)
    seller_page.get_by_role("link", name="Decline").click()
    seller_page.get_by_label("Your answer").fill("The work is done as the brief asked.")
    seller_page.get_by_role("button", name="Decline the request").click()
    expect(seller_page.locator(".badge")).to_have_text("Delivered")

    buyer_page.goto(order_url)
    buyer_page.get_by_role("link", name="Open a dispute").click()
    buyer_page.get_by_label("What went wrong?").fill("I do not like the colours.")
    buyer_page.get_by_role("button", name="Yes, open the dispute").click()
    expect(buyer_page.locator(".badge")).to_have_text("In dispute")

    agent_page = windows.open(agent)
    agent_page.goto(url + "/support/disputes/")
    agent_page.get_by_role("link", name=re.compile(r"^Dispute #\d+: Logo design")).click()
    expect(agent_page.locator(".timeline__item--delivery")).to_have_count(1)
    agent_page.get_by_label("Internal note", exact=True).fill("A change of mind, not a defect.")
    agent_page.get_by_role("button", name="Add note").click()
    expect(agent_page.get_by_text("Note added.")).to_be_visible()
    agent_page.get_by_role("radio", name=re.compile("^Release")).check()
    agent_page.get_by_label("Rationale").fill("The delivery meets the brief as the buyer wrote it.")
    snap("support-dispute", agent_page)
    agent_page.get_by_role("button", name="Review the decision").click()
    expect(agent_page.locator(".money-moves")).to_be_visible()
    agent_page.get_by_role("button", name="Yes, decide: release").click()
    expect(agent_page.get_by_text("Dispute decided.")).to_be_visible()

    buyer_page.goto(order_url)
    expect(buyer_page.locator(".badge")).to_have_text("Completed")
    timeline = buyer_page.locator(".timeline")
    expect(timeline).to_contain_text("I do not like the colours.")
    expect(timeline).not_to_contain_text("A change of mind")  # support's note stays with support
    snap("buyer-order-released", buyer_page)
    with buyer_page.expect_download() as download_info:
        buyer_page.get_by_role("link", name="Download the original logo.png").click()
    assert Path(download_info.value.path()).read_bytes() == png(1)
    with buyer_page.expect_download() as bundle_info:
        buyer_page.get_by_role("link", name="Download the evidence bundle").click()
    assert bundle_info.value.suggested_filename == f"order-{order_of(order_url).pk}-evidence.zip"
    with zipfile.ZipFile(bundle_info.value.path()) as bundle:
        assert "manifest.json" in bundle.namelist()

    order = order_of(order_url)
    assert order.state == State.COMPLETED and order.refunded == 0
    dispute = Dispute.objects.get(order=order)
    assert (dispute.outcome, dispute.decided_by) == (Outcome.RELEASE, agent)
    assert moves(order)[-5:] == [
        "deliver",
        "request_cancellation",
        "decline_cancellation",
        "open_dispute",
        "decide",
    ]
    assert order.events.filter(type=EventType.ORIGINAL_DOWNLOADED, actor=buyer).count() == 1
    assert windows.problems == []


def test_both_agree_to_cancel_with_a_partial_refund(
    windows: Windows, browser_server, artifacts: Path
):
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Bakery logo", price=10000)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    order_url = order_and_pay(buyer_page, url, offer)
    buyer_page.get_by_role("link", name="Ask to cancel").click()
    buyer_page.get_by_label("Why cancel?").fill("We found a designer in-house.")
    buyer_page.get_by_label("Refund to the buyer").fill("60")
    snap("buyer-asks-for-60", buyer_page)
    buyer_page.get_by_role("button", name="Send the request").click()
    expect(buyer_page.get_by_role("heading", name="You asked to cancel")).to_be_visible()

    order = order_of(order_url)
    split = shares(total=order.total, price=order.price, seller_fee=order.seller_fee, refund=6000)
    seller_page = windows.open(seller)
    seller_page.goto(order_url)
    seller_page.get_by_role("link", name="Agree to cancel").click()
    expect(seller_page.locator("main")).to_contain_text("60.00 EUR")
    snap("seller-confirms", seller_page)
    seller_page.get_by_role("button", name="Yes, cancel the order").click()
    expect(seller_page.locator(".badge")).to_have_text("Cancelled")

    nav_to(seller_page, "Balance")
    pending = format_amount(split.seller, "EUR")
    expect(seller_page.locator(".balance")).to_contain_text(pending)
    expect(seller_page.locator(".movement")).to_contain_text([f"+{pending}"])
    snap("seller-balance", seller_page)

    buyer_page.goto(order_url)
    expect(buyer_page.locator(".badge")).to_have_text("Cancelled")
    expect(buyer_page.locator(".facts--amounts")).to_contain_text("60.00 EUR")
    snap("buyer-order-cancelled", buyer_page)
    # Reporting asks first; going back sends nothing.
    buyer_page.get_by_role("link", name=re.compile("^Report studio")).click()
    buyer_page.get_by_role("radio", name="Spam").check()
    snap("buyer-report-form", buyer_page)
    buyer_page.get_by_role("link", name="No, go back").click()
    expect(buyer_page.locator(".badge")).to_have_text("Cancelled")

    order.refresh_from_db()
    assert (order.state, order.refunded) == (State.CANCELLED, 6000)
    settlement = Entry.objects.filter(
        transaction__order=order, transaction__kind=TransactionKind.SETTLEMENT
    )
    legs = {entry.account.kind: entry.amount for entry in settlement.select_related("account")}
    assert legs[AccountKind.REFUNDING] == 6000  # on its way back to the buyer
    assert legs[AccountKind.SELLER_PENDING] == split.seller
    refund = Entry.objects.get(
        transaction__order=order,
        transaction__kind=TransactionKind.REFUND,
        account__kind=AccountKind.WORLD,
    )
    assert refund.amount == 6000  # back to the buyer: the test provider confirmed it
    assert moves(order)[-2:] == ["request_cancellation", "accept_cancellation"]
    assert not Report.objects.exists()
    assert windows.problems == []


def test_a_revision_round_then_acceptance_and_reviews(
    windows: Windows, browser_server, artifacts: Path
):
    """The buyer asks for the one included revision; the seller grants one more, delivers
    again, the buyer accepts, and both review each other (double-blind)."""
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Bakery logo", revisions=1)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    order_url = order_and_pay(buyer_page, url, offer)
    seller_page = windows.open(seller)
    deliver(seller_page, order_url, "logo-v1.png", 1, "The first concept.")

    buyer_page.goto(order_url)
    buyer_page.get_by_role("link", name="Request a revision (1 left)").click()
    buyer_page.get_by_label("What should change?").fill("Make the wordmark bolder.")
    snap("buyer-requests-a-revision", buyer_page)
    buyer_page.get_by_role("button", name="Request the revision").click()
    expect(buyer_page.locator(".badge")).to_have_text("Revision requested")

    seller_page.goto(order_url)
    seller_page.get_by_role("link", name="Grant one more revision").click()
    snap("seller-grants-a-revision", seller_page)
    seller_page.get_by_role("button", name="Yes, grant one more revision").click()
    expect(seller_page.get_by_text("You granted one more revision")).to_be_visible()
    expect(seller_page.get_by_text("1 left of 2")).to_be_visible()
    deliver(seller_page, order_url, "logo-v2.png", 2, "Bolder, as asked.")

    buyer_page.goto(order_url)
    expect(buyer_page.locator(".delivery")).to_have_count(2)
    expect(buyer_page.get_by_role("link", name="Request a revision (1 left)")).to_be_visible()
    buyer_page.get_by_role("link", name="Accept the delivery").click()
    buyer_page.get_by_role("button", name="Yes, accept and release the payment").click()
    expect(buyer_page.locator(".badge")).to_have_text("Completed")
    buyer_page.get_by_role("link", name="Review studio").click()
    buyer_page.get_by_role("button", name="Send the review").click()
    expect(buyer_page.locator("#id_rating_error")).to_be_visible()  # beside the field
    snap("buyer-review-needs-a-rating", buyer_page)
    buyer_page.get_by_role("radio", name="5 of 5").check()
    buyer_page.get_by_label("Your review").fill("Quick, and listened to every note.")
    buyer_page.get_by_role("button", name="Send the review").click()
    expect(buyer_page.get_by_text("Your review is hidden from studio")).to_be_visible()

    seller_page.goto(order_url)
    reviews = seller_page.locator("#reviews")
    expect(reviews).to_contain_text("review is in. It is hidden")
    expect(reviews).not_to_contain_text("listened to every note")
    seller_page.get_by_role("link", name="Review ana").click()
    seller_page.get_by_role("radio", name="4 of 5").check()
    seller_page.get_by_role("button", name="Send the review").click()
    expect(reviews).to_contain_text("listened to every note")
    snap("seller-order-reviewed", seller_page)

    order = order_of(order_url)
    assert order.state == State.COMPLETED and order.revisions_granted == 1
    assert moves(order)[-4:] == ["deliver", "request_revision", "deliver", "accept"]
    assert sorted(Review.objects.filter(order=order).values_list("rating", flat=True)) == [4, 5]
    assert windows.problems == []


def test_the_buyer_cancels_a_late_order(
    windows: Windows, browser_server, artifacts: Path, time_machine
):
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Bakery logo", delivery_days=3)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    order_url = order_and_pay(buyer_page, url, offer)
    expect(buyer_page.get_by_role("link", name="Cancel the late order")).to_have_count(0)
    order = order_of(order_url)
    assert order.due_at is not None
    # The live server runs in this process: its clock moves too.
    time_machine.move_to(order.due_at + timedelta(hours=2))

    buyer_page.goto(order_url)
    buyer_page.get_by_role("link", name="Cancel the late order").click()
    expect(buyer_page.get_by_text(re.compile("refunds your full payment"))).to_be_visible()
    snap("buyer-confirms-late-cancel", buyer_page)
    buyer_page.get_by_role("button", name="Yes, cancel and refund me").click()
    expect(buyer_page.get_by_text("The late order is cancelled")).to_be_visible()
    expect(buyer_page.locator(".badge")).to_have_text("Cancelled")
    snap("buyer-order-cancelled-late", buyer_page)

    order.refresh_from_db()
    assert (order.state, order.refunded) == (State.CANCELLED, order.total)
    assert moves(order)[-1] == "cancel_late"
    assert windows.problems == []
