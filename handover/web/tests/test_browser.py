"""The pages in a real browser (Debian's Chromium): a buyer's first order, end to end.

Each page is checked at a phone's width (no horizontal scrolling at 390 px) and saved as a
screenshot at phone and desktop widths, to look at."""

import json
import re
import tracemalloc
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from handover.evidence.models import EventType
from handover.offers.models import Offer
from handover.orders.models import Order
from handover.orders.rules import State
from handover.orders.services import order_pay, order_place
from handover.testing.actors import PASSWORD, make_user
from handover.testing.factories import make_offer, order_in_state
from handover.testing.files import png_bytes
from handover.testing.steps import previews_run
from handover.web.tests.helpers import Snapshots, nav_to
from handover.web.tests.test_gallery import gallery_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_buyer_orders_and_pays(
    page: Page, browser_server, page_watch, artifacts, settings, mailoutbox
):
    settings.HANDOVER_BASE_URL = browser_server.url  # the e-mail's link leads here
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

    # A first order waits for the address: the buyer follows the link the sign-up mailed.
    offer_url = page.url
    page.get_by_role("link", name="Continue to order").click()
    expect(page.get_by_role("heading", name="Confirm your e-mail address first")).to_be_visible()
    snap("confirm-address-first")
    [link] = re.findall(r"https?://\S+", mailoutbox[0].body)
    page.goto(link)
    expect(page.get_by_text("Thank you: ana@example.com is confirmed.")).to_be_visible()
    page.goto(offer_url)

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

    nav_to(page, "Your orders")
    expect(page.get_by_role("link", name=re.compile("Logo design"))).to_be_visible()
    snap("orders")

    order = Order.objects.get(buyer__username="ana")
    assert order.state == State.IN_PROGRESS
    assert [r["answer"] for r in order.requirements] == ["Acme Bakery", "Warm brown and cream"]
    assert order.messages.get().body == "Hello! The bakery opens in May."
    assert page_watch.problems == []


# Records, across the page change, how far the delivery page's bars got when the upload
# finished, and how many progress events the upload had.
WATCH_UPLOAD = """() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    let events = 0;
    this.upload.addEventListener("progress", () => { events += 1; });
    this.addEventListener("load", () => {
      const bars = Array.from(document.querySelectorAll(".upload progress"));
      sessionStorage.setItem("upload", JSON.stringify({
        events, bars: bars.map((bar) => [bar.value, bar.max]),
      }));
    });
    return send.call(this, body);
  };
}"""

# A file dropped on the drop zone, as a person dragging it from their desktop would.
DROPPED_NOTES = """() => {
  const notes = new File(["# Notes\\n\\nThe logo uses two colours.\\n"], "notes.md",
                         {type: "text/markdown"});
  const transfer = new DataTransfer();
  transfer.items.add(notes);
  return transfer;
}"""


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_a_seller_delivers_through_the_page_and_the_buyer_accepts(
    page: Page, browser_server, page_watch, artifacts
):
    url = browser_server.url
    seller = make_user("studio")
    buyer = make_user("ana")
    snap = Snapshots(page, artifacts)

    # The seller publishes an offer that waits for their acceptance.
    log_in(page, url, seller.username)
    nav_to(page, "Sell your work")  # no offer yet: the top bar shows no selling links
    page.get_by_label("Title").fill("Bakery logo")
    page.get_by_label("Description").fill("A logo in two concepts, with the source files.")
    page.get_by_label("Price").fill("80.5")
    page.get_by_label("Delivery time in days").fill("4")
    page.get_by_label("Revisions included").fill("1")
    page.get_by_label("Terms of service").fill("Licence on completion.")
    page.get_by_label("Requirement questions").fill("Company name?\nColours?")
    page.get_by_label("I accept each order before it starts").check()
    snap("offer-new")
    page.get_by_role("button", name="Publish the offer").click()
    expect(page.get_by_text("Your offer is published.")).to_be_visible()
    expect(page.locator(".price")).to_have_text("80.50 EUR")
    snap("offer-own")
    offer = Offer.objects.get(seller=seller)
    assert offer.price == 8050

    # The buyer orders and pays (the first test does it through the pages).
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme Bakery", "Brown"])
    order_pay(order_id=order.pk, user=buyer)

    # The seller sees the buyer's record, accepts, and delivers two files.
    nav_to(page, "Your sales")
    snap("sales")
    page.get_by_role("link", name=re.compile("Bakery logo")).click()
    expect(
        page.get_by_role("heading", name=f"{buyer.username} wants to start this order")
    ).to_be_visible()
    snap("order-awaiting-acceptance")
    page.get_by_role("button", name="Accept the order").click()
    expect(page.get_by_text("You accepted the order.")).to_be_visible()
    page.get_by_role("link", name="Deliver the work").click()
    page.get_by_label("Message to the buyer").fill("Two concepts, as asked.")
    page.get_by_role("checkbox", name="Company name?").check()
    page.get_by_role("textbox", name=re.compile("^Note on “Company name\\?”")).fill(
        "Acme Bakery on both."
    )
    logo: FilePayload = {"name": "logo.png", "mimeType": "image/png", "buffer": png_bytes()}
    page.get_by_label("Files").set_input_files([logo])
    page.dispatch_event(
        "[data-dropzone]", "drop", {"dataTransfer": page.evaluate_handle(DROPPED_NOTES)}
    )
    expect(page.locator(".upload progress")).to_have_count(2)
    expect(page.locator(".upload")).to_contain_text(["logo.png", "notes.md"])
    snap("deliver")
    page.evaluate(WATCH_UPLOAD)
    page.get_by_role("button", name="Deliver", exact=True).click()
    expect(page.get_by_text("Delivered 2 files. The buyer sees the previews.")).to_be_visible()
    upload = json.loads(page.evaluate("sessionStorage.getItem('upload')"))
    assert upload["events"] >= 1
    assert [value == maximum > 0 for value, maximum in upload["bars"]] == [True, True]
    order.refresh_from_db()
    assert order.state == State.DELIVERED
    delivery = order.deliveries.get()
    assert sorted(f.name for f in delivery.files.all()) == ["logo.png", "notes.md"]
    assert [(c.requirement, c.note) for c in delivery.checklist.all()] == [
        (0, "Acme Bakery on both.")
    ]
    assert previews_run() == 2  # what the worker does next
    log_out(page)

    # The buyer sees the previews, opens one larger, accepts, and downloads an original.
    log_in(page, url, buyer.username)
    nav_to(page, "Your orders")
    page.get_by_role("link", name=re.compile("Bakery logo")).click()
    expect(page.get_by_text("The original files unlock when you accept")).to_be_visible()
    thumb = page.get_by_role("link", name="Open a larger view")
    expect(thumb.locator("img")).to_have_js_property("complete", True)
    # The text is shown as a watermarked picture of its opening, never as copyable text.
    excerpt = page.get_by_role(
        "img", name="The opening of notes.md, drawn as a watermarked picture"
    )
    expect(excerpt).to_have_js_property("complete", True)
    expect(page.get_by_text("two colours")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Download the original"))).to_have_count(0)
    snap("order-previews")
    thumb.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("img")).to_have_js_property("complete", True)
    snap("lightbox")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(thumb).to_be_focused()

    page.get_by_role("link", name="Accept the delivery").click()
    snap("confirm-accept")
    page.get_by_role("button", name="Yes, accept and release the payment").click()
    expect(page.locator(".badge")).to_have_text("Completed")
    snap("order-completed")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the original logo.png").click()
    download = download_info.value
    assert download.suggested_filename == "logo.png"
    assert Path(download.path()).read_bytes() == png_bytes()
    assert order.events.filter(type=EventType.ORIGINAL_DOWNLOADED, actor=buyer).count() == 1
    assert order.events.filter(type=EventType.PREVIEW_VIEWED, actor=buyer).exists()
    assert page_watch.problems == []


def test_the_parties_ask_to_cancel_decline_and_open_a_dispute(
    page: Page, browser_server, page_watch, artifacts
):
    url = browser_server.url
    seller, buyer, support = make_user("studio"), make_user("ana"), make_user("desk")
    order = order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
    snap = Snapshots(page, artifacts)

    # The seller releases the delivery early, after the warning, then asks to cancel.
    log_in(page, url, seller.username)
    page.goto(f"{url}/orders/{order.pk}/")
    page.get_by_role("link", name="Release these originals early").click()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    snap("release-early-warning")
    page.get_by_role("button", name="Yes, release the originals now").click()
    expect(
        page.get_by_text("The originals of this delivery are released to the buyer.")
    ).to_be_visible()
    page.get_by_role("link", name="Ask to cancel").click()
    page.get_by_label("Why cancel?").fill("The brief changed after the first delivery.")
    page.get_by_label("Refund to the buyer").fill("40")
    snap("request-cancellation")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("heading", name="You asked to cancel")).to_be_visible()
    snap("cancellation-requested")
    log_out(page)

    # The buyer declines, then opens a dispute.
    log_in(page, url, buyer.username)
    page.goto(f"{url}/orders/{order.pk}/")
    expect(page.get_by_role("heading", name="The seller asks to cancel")).to_be_visible()
    page.get_by_role("link", name="Decline").click()
    page.get_by_label("Your answer").fill("Please finish the work as agreed.")
    snap("decline-cancellation")
    page.get_by_role("button", name="Decline the request").click()
    expect(page.locator(".badge")).to_have_text("Delivered")
    page.get_by_role("link", name="Open a dispute").click()
    page.get_by_label("What went wrong?").fill("The seller wants to stop halfway.")
    snap("open-dispute")
    page.get_by_role("button", name="Yes, open the dispute").click()
    expect(page.locator(".badge")).to_have_text("In dispute")
    snap("order-disputed")

    order.refresh_from_db()
    assert order.state == State.DISPUTED
    actions = [
        e.payload["action"]
        for e in order.events.filter(type=EventType.ORDER_TRANSITION).order_by("id")
    ]
    assert actions[-3:] == ["request_cancellation", "decline_cancellation", "open_dispute"]
    assert page_watch.problems == []


def test_the_buyer_sees_a_preview_of_every_kind(
    page: Page, browser_server, page_watch, artifacts, tmp_path
):
    buyer, seller, support = make_user("ana"), make_user("studio"), make_user("desk")
    order = gallery_order(buyer, seller, support, tmp_path)
    snap = Snapshots(page, artifacts)
    log_in(page, browser_server.url, buyer.username)
    page.goto(f"{browser_server.url}/orders/{order.pk}/")
    for image in page.locator(".thumb img").all():
        expect(image).to_have_js_property("complete", True)
    expect(page.locator("audio")).to_have_count(1)
    expect(page.locator("video")).to_have_count(1)
    expect(page.get_by_role("cell", name="fonts/brand.otf")).to_be_visible()
    snap("gallery")

    # The keyboard opens the PDF's one page shown (a quarter of four) larger and closes it.
    page_one = page.get_by_role("link", name="Page 1 of brief.pdf, watermarked")
    page_one.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="brief.pdf, page 1")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("img")).to_have_js_property("complete", True)
    snap("gallery-lightbox")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page_one).to_be_focused()
    assert page_watch.problems == []


# Samples the first bar at each upload progress event of the page's request.
SAMPLE_PROGRESS = """() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    const samples = [];
    this.upload.addEventListener("progress", () => {
      const bar = document.querySelector(".upload progress");
      samples.push([bar.value, bar.max]);
      sessionStorage.setItem("samples", JSON.stringify(samples));
    });
    return send.call(this, body);
  };
}"""


def test_a_200_mb_delivery_moves_its_progress_bar(
    page: Page, browser_server, page_watch, artifacts, tmp_path
):
    buyer, seller, support = make_user("ana"), make_user("studio"), make_user("desk")
    order = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    big = tmp_path / "master.txt"
    line = b"the original text of the work, line after line of it\n" * 64
    with big.open("wb") as out:
        for _ in range(200 * 2**20 // len(line) + 1):
            out.write(line)
    size = big.stat().st_size

    log_in(page, browser_server.url, seller.username)
    page.goto(f"{browser_server.url}/orders/{order.pk}/deliver/")
    page.get_by_label("Files").set_input_files(big)
    page.evaluate(SAMPLE_PROGRESS)
    # The live server is a thread of this process: tracemalloc sees what it allocates.
    tracemalloc.start()
    try:
        page.get_by_role("button", name="Deliver", exact=True).click()
        expect(page.get_by_text("Delivered 1 file.")).to_be_visible(timeout=180_000)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The server's memory stays flat: 200 MB went through in chunks, never held whole.
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB while receiving {size} bytes"

    samples = json.loads(page.evaluate("sessionStorage.getItem('samples')"))
    values = [value for value, _max in samples]
    assert {maximum for _value, maximum in samples} == {size}
    assert len(set(values)) >= 3, values  # it moved, not only jumped to the end
    assert values == sorted(values)
    stored = order.deliveries.get().files.get()
    assert stored.size == size and stored.kind == "text"
    assert page_watch.problems == []
