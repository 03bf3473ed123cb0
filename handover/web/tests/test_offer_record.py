"""The offer page shows its seller's record as a seller: rating, review count, completed
orders, and the reviews buyers wrote that anyone may read (double-blind until both are in)."""

import re
from datetime import UTC, datetime

import pytest

from handover.orders.feedback import order_review
from handover.orders.rules import State
from handover.testing.factories import make_offer, order_in_state
from handover.testing.snapshots import db_snapshot
from handover.web.tests.test_order_page import page_of

pytestmark = pytest.mark.clock_start(datetime(2026, 5, 4, 22, 30, tzinfo=UTC))


@pytest.fixture
def parties(clock, buyer, seller, support):
    return {"buyer": buyer, "seller": seller, "support": support}


def test_the_offer_page_shows_the_sellers_rating_reviews_and_completed_orders(
    client, parties, buyer, seller, stranger
):
    offer = make_offer(seller)
    first = order_in_state(State.COMPLETED, **parties, offer=offer)
    second = order_in_state(State.COMPLETED, **parties, offer=offer)
    order_review(order_id=first.pk, user=buyer, rating=5, text="Fast and <b>clear</b>.")
    order_review(order_id=first.pk, user=seller, rating=4, text="Good brief.")  # of the buyer
    order_review(order_id=second.pk, user=buyer, rating=4, text="Hidden until both are in.")

    html = page_of(client, stranger, f"/offers/{offer.pk}/")
    record = re.search(r'<dl class="facts seller-record">(.*?)</dl>', html, re.S)
    assert record is not None
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", record.group(1)))
    assert facts == {"Rating": "5.0 of 5", "Reviews": "1", "Orders completed": "2"}
    assert "Fast and <b>clear</b>." in html  # the text, escaped on the page
    assert "<b>clear</b>" not in client.get(f"/offers/{offer.pk}/").content.decode()
    assert "Good brief." not in html  # the seller's review of the buyer is not the seller's
    assert "Hidden until both are in." not in html  # double-blind: not yet visible


def test_a_seller_without_reviews_says_so(client, seller, stranger):
    offer = make_offer(seller)
    html = page_of(client, stranger, f"/offers/{offer.pk}/")
    assert "No buyer has reviewed this seller yet." in html
    assert "no reviews yet" in html
    before = db_snapshot()
    client.post(f"/offers/{offer.pk}/", {"rating": "5"})  # a page to read, not to write
    assert db_snapshot() == before
