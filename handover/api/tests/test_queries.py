"""A constant number of queries per API call, whatever the number of orders.

Each test measures one call with one order of the same buyer and seller, adds 29 more, and
measures the same call again: the two counts must be equal.
"""

from collections.abc import Callable
from itertools import cycle

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handover.delivery.services import order_deliver
from handover.disputes.services import dispute_open
from handover.orders import services
from handover.orders.models import Order

MORE = 29


def make_order(offer, buyer, seller, state: str) -> Order:
    """An order brought to ``state`` through the services."""
    order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    if state != "pending_payment":
        services.order_pay(order_id=order.pk, user=buyer)
    if state in ("delivered", "completed", "disputed"):
        order_deliver(
            order_id=order.pk,
            user=seller,
            text="",
            files=[SimpleUploadedFile("f.txt", b"x")],
        )
    if state == "completed":
        services.order_accept(order_id=order.pk, user=buyer)
    if state == "disputed":
        dispute_open(order_id=order.pk, user=buyer, text="No")
    order.refresh_from_db()
    assert order.state == state
    return order


def make_orders(offer, buyer, seller, count: int) -> None:
    states = cycle(["pending_payment", "in_progress", "delivered", "completed", "disputed"])
    for _ in range(count):
        make_order(offer, buyer, seller, next(states))


def queries(call: Callable, status: int = 200) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == status, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("state", ["delivered", "completed"])
def test_get_order_costs_the_same_with_one_order_or_thirty(
    offer, buyer, seller, buyer_api, seller_api, state
):
    order = make_order(offer, buyer, seller, state)
    buyer_api.get(f"/orders/{order.pk}")  # warm up
    as_buyer = queries(lambda: buyer_api.get(f"/orders/{order.pk}"))
    as_seller = queries(lambda: seller_api.get(f"/orders/{order.pk}"))

    make_orders(offer, buyer, seller, MORE)

    assert queries(lambda: buyer_api.get(f"/orders/{order.pk}")) == as_buyer
    assert queries(lambda: seller_api.get(f"/orders/{order.pk}")) == as_seller


def test_order_list_costs_the_same_with_one_order_or_thirty(
    offer, buyer, seller, buyer_api, seller_api, support_api
):
    make_order(offer, buyer, seller, "completed")
    buyer_api.get("/orders")  # warm up
    counts = {
        name: queries(lambda api=api: api.get("/orders"))
        for name, api in (("buyer", buyer_api), ("seller", seller_api), ("support", support_api))
    }

    make_orders(offer, buyer, seller, MORE)

    assert buyer_api.get("/orders").json()["count"] == MORE + 1
    for name, api in (("buyer", buyer_api), ("seller", seller_api), ("support", support_api)):
        assert queries(lambda api=api: api.get("/orders")) == counts[name], name


def test_accept_costs_the_same_with_one_order_or_thirty(offer, buyer, seller, buyer_api):
    # A first settlement creates the seller's and the platform's accounts; keep it out.
    services.order_accept(order_id=make_order(offer, buyer, seller, "delivered").pk, user=buyer)
    first = make_order(offer, buyer, seller, "delivered")
    few = queries(lambda: buyer_api.act(first.pk, "accept"))

    make_orders(offer, buyer, seller, MORE)
    last = make_order(offer, buyer, seller, "delivered")

    assert queries(lambda: buyer_api.act(last.pk, "accept")) == few


def test_posting_a_message_costs_the_same_with_one_order_or_thirty(offer, buyer, seller, buyer_api):
    order = make_order(offer, buyer, seller, "in_progress")
    buyer_api.post(f"/orders/{order.pk}/messages", {"text": "warm up"})
    few = queries(lambda: buyer_api.post(f"/orders/{order.pk}/messages", {"text": "hi"}), 201)

    make_orders(offer, buyer, seller, MORE)

    many = queries(lambda: buyer_api.post(f"/orders/{order.pk}/messages", {"text": "hi"}), 201)
    assert many == few


def test_order_events_page_costs_the_same_however_long_the_history(offer, buyer, seller, buyer_api):
    order = make_order(offer, buyer, seller, "in_progress")
    buyer_api.get(f"/orders/{order.pk}/events")
    few = queries(lambda: buyer_api.get(f"/orders/{order.pk}/events"))

    for n in range(MORE):
        services.message_post(order_id=order.pk, user=buyer, text=f"message {n}")

    assert queries(lambda: buyer_api.get(f"/orders/{order.pk}/events")) == few
