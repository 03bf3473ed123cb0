"""The seller's pages: offers (create, edit with a new terms version, close and open), the
sales list, and an order that waits for the seller with the buyer's record beside it."""

import pytest

from handover.evidence.models import Event, EventType
from handover.offers.models import Offer
from handover.orders.rules import State
from handover.orders.services import order_place
from handover.testing.factories import make_offer, order_in_state
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors, page_messages

OFFER = {
    "title": "Brand illustration",
    "description": "One illustration in your colours.",
    "price": "249.90",
    "currency": "EUR",
    "delivery_days": "5",
    "revisions": "2",
    "terms": "Licence on completion.",
    "requirements": "What is the brand?\n\n  Which colours?  \n",
    "requires_acceptance": "on",
}


def page(response) -> str:
    return response.content.decode()


# --- Offers ---


def test_a_seller_publishes_an_offer_with_an_exact_price(client, seller):
    client.force_login(seller)
    assert client.get("/offers/new/").status_code == 200
    response = client.post("/offers/new/", OFFER, follow=True)
    offer = Offer.objects.get(seller=seller)
    assert (offer.price, offer.currency) == (24990, "EUR")
    assert offer.requirements == ["What is the brand?", "Which colours?"]
    assert offer.requires_acceptance and (offer.delivery_days, offer.revisions) == (5, 2)
    assert offer.current_terms.version == 1
    assert page_messages(response) == ["Your offer is published."]
    assert "249.90 EUR" in page(response)
    assert Event.objects.filter(type=EventType.OFFER_CREATED).count() == 1


@pytest.mark.parametrize(
    ("price", "currency", "error"),
    [
        ("249.999", "EUR", "EUR amounts have at most 2 decimals."),
        ("100.5", "JPY", "JPY amounts have no decimals."),
        ("12e3", "EUR", "Write the amount in digits, like 120.50."),
        ("0", "EUR", "The price must be more than zero."),
        ("12.345", "KWD", "KWD amounts move in steps of 0.010 KWD; 12.345 KWD is not one."),
    ],
)
def test_a_price_the_currency_cannot_hold_is_refused_beside_the_field(
    client, seller, price, currency, error
):
    client.force_login(seller)
    response = client.post("/offers/new/", {**OFFER, "price": price, "currency": currency})
    assert response.status_code == 422
    assert field_errors(response, "price") == [error]
    assert not Offer.objects.exists()


def test_the_form_shows_each_error_by_its_field(client, seller):
    client.force_login(seller)
    response = client.post("/offers/new/", {**OFFER, "title": "", "delivery_days": "0"})
    assert response.status_code == 422
    assert field_errors(response, "title") == ["This field is required."]
    assert field_errors(response, "delivery_days") == [
        "Ensure this value is greater than or equal to 1."
    ]


def test_editing_with_new_terms_makes_a_new_version_and_placed_orders_keep_theirs(
    client, seller, buyer, offer
):
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    client.force_login(seller)
    form = page(client.get(f"/offers/{offer.pk}/edit/"))
    assert 'value="100.00"' in form and "Company name?\nColours?" in form
    edited = {
        **OFFER,
        "title": offer.title,
        "price": "120",
        "terms": "Terms v2: licence on completion, source files included.",
        "requirements": "Company name?\nColours?\nDeadline?",
    }
    response = client.post(f"/offers/{offer.pk}/edit/", edited, follow=True)
    assert page_messages(response) == [
        "Saved. The terms are now version 2; orders placed before keep version 1."
    ]
    offer.refresh_from_db()
    assert offer.price == 12000 and offer.current_terms.version == 2
    assert offer.requirements == ["Company name?", "Colours?", "Deadline?"]
    order.refresh_from_db()
    assert order.terms.version == 1 and order.price == 10000
    assert Event.objects.filter(type=EventType.OFFER_TERMS_VERSIONED).count() == 1


def test_editing_without_changing_the_terms_keeps_the_version(client, seller, offer):
    client.force_login(seller)
    terms = offer.current_terms.text
    edited = {**OFFER, "terms": terms, "requirements": "Company name?"}
    response = client.post(f"/offers/{offer.pk}/edit/", edited, follow=True)
    assert page_messages(response) == ["Saved."]
    assert offer.terms_versions.count() == 1


def test_an_edit_keeps_the_risk_threshold_set_through_the_api(client, seller):
    offer = make_offer(seller, risk_threshold={"max_disputes_lost": 3})
    client.force_login(seller)
    client.post(f"/offers/{offer.pk}/edit/", OFFER)
    offer.refresh_from_db()
    assert offer.risk_threshold is not None and offer.risk_threshold["max_disputes_lost"] == 3


def test_only_the_seller_edits_or_closes_an_offer(client, offer, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    assert client.get(f"/offers/{offer.pk}/edit/").status_code == 404
    assert client.post(f"/offers/{offer.pk}/edit/", OFFER).status_code == 404
    assert client.post(f"/offers/{offer.pk}/active/", {"active": "off"}).status_code == 404
    offer.refresh_from_db()
    assert offer.is_active and offer.title == "Logo design"
    assert db_snapshot() == before


def test_the_seller_closes_and_reopens_an_offer(client, seller, offer):
    client.force_login(seller)
    html = page(client.get(f"/offers/{offer.pk}/"))
    assert "This is your offer." in html and "Close to new orders" in html
    response = client.post(f"/offers/{offer.pk}/active/", {"active": "off"}, follow=True)
    offer.refresh_from_db()
    assert not offer.is_active
    assert page_messages(response) == ["The offer is closed to new orders; placed orders go on."]
    assert "Open to new orders" in page(response)
    assert "Logo design" not in page(client.get("/"))
    assert "Closed" in page(client.get("/offers/mine/"))
    client.post(f"/offers/{offer.pk}/active/", {"active": "on"})
    offer.refresh_from_db()
    assert offer.is_active


def test_your_offers_lists_open_and_closed_offers_of_yours_only(client, seller, stranger, offer):
    make_offer(stranger, title="Someone else's")
    client.force_login(seller)
    html = page(client.get("/offers/mine/"))
    assert "Logo design" in html and f'href="/offers/{offer.pk}/edit/"' in html
    assert "Someone else" not in html


# --- Sales ---


def test_your_sales_lists_the_orders_placed_with_you(client, offer, buyer, seller, stranger):
    mine = order_place(buyer=buyer, offer_id=offer.pk, answers=["A", "B"])
    other_offer = make_offer(stranger)
    bought = order_place(buyer=seller, offer_id=other_offer.pk, answers=["A", "B"])
    client.force_login(seller)
    html = page(client.get("/sales/"))
    assert f'href="/orders/{mine.pk}/"' in html and f"for {buyer.username}" in html
    assert f'href="/orders/{bought.pk}/"' not in html  # bought, not sold


@pytest.fixture
def waiting(buyer, seller, support):
    return order_in_state(State.AWAITING_ACCEPTANCE, buyer=buyer, seller=seller, support=support)


def test_the_seller_sees_the_buyers_record_before_accepting(client, waiting, seller, buyer):
    client.force_login(seller)
    html = page(client.get(f"/orders/{waiting.pk}/"))
    assert f"{buyer.username} wants to start this order" in html
    for text in ("Orders completed as a buyer", "Disputes lost", "Chargebacks", "Accept the order"):
        assert text in html
    assert f'href="/orders/{waiting.pk}/decline-order/"' in html


def test_the_buyer_sees_no_record_and_cannot_accept_their_own_order(client, waiting, buyer):
    client.force_login(buyer)
    assert "wants to start this order" not in page(client.get(f"/orders/{waiting.pk}/"))
    before = db_snapshot()
    response = client.post(f"/orders/{waiting.pk}/accept-order/", follow=True)
    assert page_messages(response) == ["The buyer cannot accept_order this order."]
    client.post(f"/orders/{waiting.pk}/decline-order/")
    assert db_snapshot() == before


def test_the_seller_accepts_and_the_delivery_time_starts(client, waiting, seller):
    client.force_login(seller)
    response = client.post(f"/orders/{waiting.pk}/accept-order/", follow=True)
    waiting.refresh_from_db()
    assert waiting.state == State.IN_PROGRESS and waiting.due_at is not None
    assert page_messages(response) == ["You accepted the order. The delivery time starts now."]
    assert "Deliver the work" in page(response)


def test_declining_asks_first_then_refunds_in_full(client, waiting, seller):
    client.force_login(seller)
    confirm = client.get(f"/orders/{waiting.pk}/decline-order/")
    assert "Yes, decline the order" in page(confirm) and "105.50 EUR" in page(confirm)
    waiting.refresh_from_db()
    assert waiting.state == State.AWAITING_ACCEPTANCE
    response = client.post(f"/orders/{waiting.pk}/decline-order/", follow=True)
    waiting.refresh_from_db()
    assert waiting.state == State.CANCELLED and waiting.refunded == waiting.total
    assert page_messages(response) == ["You declined the order; the buyer gets their payment back."]


def test_accepting_twice_is_refused_and_changes_nothing(client, waiting, seller):
    client.force_login(seller)
    client.post(f"/orders/{waiting.pk}/accept-order/", follow=True)
    before = db_snapshot()
    response = client.post(f"/orders/{waiting.pk}/accept-order/", follow=True)
    assert page_messages(response) == [
        "Accept_order is not possible while the order is in_progress."
    ]
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("typed", "minor", "shown"),
    [("1500", 1500, "1500 JPY"), ("12.34", 12340, "12.340 KWD"), ("12.340", 12340, "12.340 KWD")],
)
def test_zero_and_three_decimal_prices_are_kept_exact_and_shown_in_full(
    client, seller, typed, minor, shown
):
    client.force_login(seller)
    currency = shown.split()[1]
    response = client.post(
        "/offers/new/", {**OFFER, "price": typed, "currency": currency}, follow=True
    )
    offer = Offer.objects.get(seller=seller)
    assert (offer.price, offer.currency) == (minor, currency)
    assert shown in page(response)
