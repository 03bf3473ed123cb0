"""Browsing offers and placing an order."""

from handover.evidence.models import EventType
from handover.offers.services import offer_set_active
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors, form_errors, page_messages


def test_the_offer_list_shows_open_offers_only(client, seller):
    make_offer(seller, title="Logo design")
    closed = make_offer(seller, title="Old poster")
    offer_set_active(offer_id=closed.pk, seller=seller, active=False)
    page = client.get("/").content.decode()
    assert "Logo design" in page and "100.00 EUR" in page
    assert "Old poster" not in page


def test_the_offer_page_shows_what_the_buyer_gets(client, offer):
    response = client.get(f"/offers/{offer.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    for text in (
        "A logo in three concepts.",
        "100.00 EUR",
        "3 days",
        "1 included",
        "Company name?",
        "Terms v1: the buyer gets a licence on completion.",
        f'href="/offers/{offer.pk}/order/"',
    ):
        assert text in page


def test_the_seller_sees_no_order_button_on_their_own_offer(client, offer, seller):
    client.force_login(seller)
    page = client.get(f"/offers/{offer.pk}/").content.decode()
    assert "This is your offer." in page
    assert f'href="/offers/{offer.pk}/order/"' not in page


def test_an_unknown_offer_is_404(client, db):
    assert client.get("/offers/999999/").status_code == 404


def test_ordering_needs_a_login(client, offer):
    response = client.get(f"/offers/{offer.pk}/order/")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/offers/{offer.pk}/order/"


def test_the_order_form_asks_the_questions_and_shows_price_fee_and_total(client, offer, buyer):
    client.force_login(buyer)
    page = client.get(f"/offers/{offer.pk}/order/").content.decode()
    assert '<label for="id_answer_0">Company name?</label>' in page
    assert '<label for="id_answer_1">Colours?</label>' in page
    # 5.5 % of 100.00, as order_place will fix it
    for text in ("100.00 EUR", "Service fee (5.5 %)", "5.50 EUR", "105.50 EUR"):
        assert text in page


def test_the_order_form_uses_the_configured_buyer_fee(client, offer, buyer, settings):
    settings.HANDOVER_BUYER_FEE_PERCENT = settings.HANDOVER_BUYER_FEE_PERCENT * 2
    client.force_login(buyer)
    page = client.get(f"/offers/{offer.pk}/order/").content.decode()
    assert "11.00 EUR" in page and "111.00 EUR" in page


def test_placing_an_order_records_the_answers_and_opens_the_order(client, offer, buyer):
    client.force_login(buyer)
    response = client.post(
        f"/offers/{offer.pk}/order/", {"answer_0": "Acme", "answer_1": "Blue"}, follow=True
    )
    order = Order.objects.get(buyer=buyer)
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert order.state == State.PENDING_PAYMENT
    assert order.requirements == [
        {"question": "Company name?", "answer": "Acme"},
        {"question": "Colours?", "answer": "Blue"},
    ]
    assert (order.price, order.buyer_fee, order.total) == (10000, 550, 10550)
    assert order.events.filter(type=EventType.ORDER_PLACED).count() == 1
    assert page_messages(response) == ["Your order is placed. Pay to start it."]


def test_an_offer_without_questions_is_ordered_with_an_empty_form(client, seller, buyer):
    offer = make_offer(seller, requirements=[])
    client.force_login(buyer)
    response = client.post(f"/offers/{offer.pk}/order/")
    assert response.status_code == 302
    assert Order.objects.get(buyer=buyer).requirements == []


def test_a_missing_answer_is_shown_beside_its_question_and_nothing_is_placed(client, offer, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/offers/{offer.pk}/order/", {"answer_0": "Acme", "answer_1": "  "})
    assert response.status_code == 422
    assert field_errors(response, "answer_1") == ["This field is required."]
    assert field_errors(response, "answer_0") == []
    assert "Acme</textarea>" in response.content.decode()  # kept, not typed again
    assert db_snapshot() == before


def test_the_service_refuses_an_order_on_your_own_offer_above_the_form(client, offer, seller):
    client.force_login(seller)
    before = db_snapshot()
    response = client.post(f"/offers/{offer.pk}/order/", {"answer_0": "A", "answer_1": "B"})
    assert response.status_code == 422
    assert form_errors(response) == ["You cannot order your own offer."]
    assert db_snapshot() == before


def test_a_closed_offer_cannot_be_ordered(client, offer, seller, buyer):
    offer_set_active(offer_id=offer.pk, seller=seller, active=False)
    client.force_login(buyer)
    assert client.get(f"/offers/{offer.pk}/order/").status_code == 404
    response = client.post(f"/offers/{offer.pk}/order/", {"answer_0": "A", "answer_1": "B"})
    assert response.status_code == 404
    assert not Order.objects.exists()
