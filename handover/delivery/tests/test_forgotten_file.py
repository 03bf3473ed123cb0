"""A forgotten file: the seller adds a delivery to a delivered order before the buyer accepts.
The buyer is told (the outbox and the order's record), and auto-complete starts again from
the new delivery."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from handover.notifications.models import Channel, Outbox
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.testing.files import deliver_files, text_bytes, upload
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import deliver, last_transition, ok, paid_order, previews_run
from handover.web.tests.helpers import page_messages

AUTO = settings.HANDOVER_AUTO_COMPLETE_AFTER
HOUR = timedelta(hours=1)


def state_and_timer(order_id: int):
    return Order.objects.values_list("state", "timer_at").get(pk=order_id)


@pytest.fixture
def delivered_order(buyer_api, seller_api, offer, clock) -> int:
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    return order_id


def add_file(seller_api, order_id: int, name: str = "forgotten.txt") -> dict:
    delivery = ok(deliver_files(seller_api, order_id, upload(text_bytes(7), name)), 201)
    previews_run()
    return delivery


def test_the_added_delivery_restarts_auto_complete_and_the_buyer_is_told(
    delivered_order, seller_api, buyer, clock
):
    order_id = delivered_order
    first_deadline = state_and_timer(order_id)[1]
    clock.shift(AUTO - HOUR)  # an hour before the first delivery's order would complete
    add_file(seller_api, order_id)
    event = last_transition(order_id)
    assert (event.payload["action"], event.payload["from"], event.payload["to"]) == (
        "deliver",
        "delivered",
        "delivered",
    )
    assert [f["name"] for f in event.payload["files"]] == ["forgotten.txt"]
    mail = Outbox.objects.get(event=event, channel=Channel.EMAIL)
    assert mail.recipient_id == buyer.pk
    assert "added a delivery" in mail.body and "starts again" in mail.body
    now = event.created_at
    assert state_and_timer(order_id) == ("delivered", now + AUTO)

    clock.shift(2 * HOUR)  # past the first deadline: nothing happens
    assert timers_run_due()["fired"] == 0
    assert state_and_timer(order_id)[0] == "delivered"
    assert first_deadline is not None and first_deadline < now + AUTO

    clock.move_to(now + AUTO)  # the new one: the order completes
    assert timers_run_due()["fired"] == 1
    assert state_and_timer(order_id)[0] == "completed"


def test_with_auto_complete_off_an_added_delivery_sets_no_timer(
    delivered_order, seller_api, buyer_api
):
    ok(buyer_api.act(delivered_order, "auto-complete", {"enabled": False}))
    add_file(seller_api, delivered_order)
    assert state_and_timer(delivered_order) == ("delivered", None)


def test_the_api_offers_the_seller_deliver_while_delivered(delivered_order, seller_api, buyer_api):
    assert "deliver" in ok(seller_api.get(f"/orders/{delivered_order}"))["actions"]
    assert "deliver" not in ok(buyer_api.get(f"/orders/{delivered_order}"))["actions"]


def test_the_buyer_cannot_add_and_after_acceptance_nor_can_the_seller(
    delivered_order, seller_api, buyer_api
):
    before = db_snapshot()
    response = deliver_files(buyer_api, delivered_order, upload(text_bytes(2), "mine.txt"))
    assert response.status_code == 409
    assert db_snapshot() == before
    ok(buyer_api.act(delivered_order, "accept"))
    before = db_snapshot()
    response = deliver_files(seller_api, delivered_order, upload(text_bytes(2), "late.txt"))
    assert response.status_code == 409
    assert response.json()["error"] == "transition_not_allowed"
    assert db_snapshot() == before


def test_the_order_page_offers_the_seller_to_add_a_forgotten_file(delivered_order, seller, buyer):
    client = Client()
    client.force_login(seller)
    page = client.get(f"/orders/{delivered_order}/").content.decode()
    assert "Add a forgotten file" in page
    form = client.get(f"/orders/{delivered_order}/deliver/")
    assert "<h1>Add a forgotten file</h1>" in form.content.decode()
    response = client.post(
        f"/orders/{delivered_order}/deliver/",
        {"text": "The favicon I left out.", "files": [upload(text_bytes(3), "favicon.txt")]},
        follow=True,
    )
    assert page_messages(response) == [
        "Added 1 file to the order. The buyer is told; auto-complete starts again."
    ]
    assert Order.objects.get(pk=delivered_order).deliveries.count() == 2
    client.force_login(buyer)
    assert "Add a forgotten file" not in client.get(f"/orders/{delivered_order}/").content.decode()
