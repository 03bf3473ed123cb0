"""A forgotten file and "Download all", in a real browser: the seller adds a delivery to a
delivered order, the buyer is told, accepts, and takes the added delivery's originals as one
ZIP, opened here and compared byte for byte."""

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, expect

from handover.evidence.models import EventType
from handover.notifications.models import Channel, Outbox
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.files import text_bytes
from handover.testing.steps import previews_run
from handover.web.tests.helpers import Snapshots
from handover.web.tests.test_stories import (  # noqa: F401 (windows is a fixture)
    Windows,
    deliver,
    moves,
    order_and_pay,
    order_of,
    png,
    windows,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_forgotten_file_then_the_buyer_downloads_all_as_one_zip(
    windows: Windows,  # noqa: F811 (the fixture imported above)
    browser_server,
    artifacts: Path,
):
    url = browser_server.url
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Logo design", price=12000)

    buyer_page = windows.open(buyer)
    snap = Snapshots(buyer_page, artifacts)
    order_url = order_and_pay(buyer_page, url, offer)
    seller_page = windows.open(seller)
    deliver(seller_page, order_url, "logo.png", 1, "The logo, as asked.")
    assert previews_run() == 1

    # The seller remembers the dark version and the font licence.
    seller_page.goto(order_url)
    snap("seller-order-awaiting-acceptance", seller_page)
    seller_page.get_by_role("link", name="Add a forgotten file").click()
    expect(seller_page.get_by_role("heading", name="Add a forgotten file")).to_be_visible()
    seller_page.get_by_label("Message to the buyer").fill("I left out the dark version.")
    files: list[FilePayload] = [
        {"name": "logo dark é.png", "mimeType": "image/png", "buffer": png(2)},
        {"name": "font licence.txt", "mimeType": "text/plain", "buffer": text_bytes(12)},
    ]
    seller_page.get_by_label("Files").set_input_files(files)
    snap("seller-adds-a-forgotten-file", seller_page)
    seller_page.get_by_role("button", name="Add to the order").click()
    expect(seller_page.get_by_text("Added 2 files to the order.")).to_be_visible()
    assert previews_run() == 2

    order = order_of(order_url)
    added = order.events.filter(type=EventType.ORDER_TRANSITION).order_by("id").last()
    assert added is not None and added.payload["from"] == added.payload["to"] == "delivered"
    told = Outbox.objects.get(event=added, channel=Channel.EMAIL, recipient=buyer)
    assert "added a delivery" in told.body

    buyer_page.goto(order_url)
    expect(buyer_page.get_by_role("heading", name=re.compile(r"^Delivery 2"))).to_be_visible()
    expect(buyer_page.get_by_role("link", name=re.compile(r"^Download all"))).to_have_count(0)
    buyer_page.get_by_role("link", name="Accept the delivery").click()
    buyer_page.get_by_role("button", name="Yes, accept and release the payment").click()
    expect(buyer_page.locator(".badge")).to_have_text("Completed")
    download_all = buyer_page.get_by_role("link", name=re.compile(r"^Download all \(2 files, "))
    expect(download_all).to_have_count(1)
    snap("buyer-may-download-all", buyer_page)
    with buyer_page.expect_download() as download_info:
        download_all.click()
    download = download_info.value
    assert download.suggested_filename == f"order-{order.pk}-delivery-2-originals.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["logo dark é.png", "font licence.txt"]
        assert archive.read("logo dark é.png") == png(2)
        assert archive.read("font licence.txt") == text_bytes(12)

    archived = order.events.filter(type=EventType.ORIGINAL_DOWNLOADED, actor=buyer)
    assert [e.payload["archive"]["complete"] for e in archived] == [True, True]
    assert moves(order)[-3:] == ["deliver", "deliver", "accept"]
    assert windows.problems == []
