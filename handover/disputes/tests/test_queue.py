"""The support desk's queue: open disputes oldest first, with their age, the response target,
whether they are overdue, their flags and their parties; the same cost for one or thirty."""

from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handover.delivery.services import (
    Visit,
    delivery_release_early,
    file_served_record,
    order_deliver,
)
from handover.disputes.services import dispute_open
from handover.lib.ranges import SentRange
from handover.offers.services import OfferFields, offer_update
from handover.orders import cancellation, services
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.steps import decide, ok, open_dispute, paid_order, refused

HOUR = timedelta(hours=1)


def test_the_queue_lists_open_disputes_oldest_first_with_target_and_overdue(
    offer, buyer, seller, buyer_api, seller_api, support_api, settings, clock
):
    settings.HANDOVER_SUPPORT_RESPONSE_TARGET = timedelta(hours=4)
    first = open_dispute(buyer_api, paid_order(buyer_api, offer))
    clock.shift(HOUR)
    second = open_dispute(seller_api, paid_order(buyer_api, offer), "The buyer vanished")
    clock.shift(HOUR)
    decided = open_dispute(buyer_api, paid_order(buyer_api, offer))
    ok(decide(support_api, decided, "refund"))
    clock.shift(2 * HOUR)  # the first is exactly at its target, not past it

    items = ok(support_api.get("/disputes"))["items"]

    assert [i["id"] for i in items] == [first, second]
    assert [i["age_seconds"] for i in items] == [4 * 3600, 3 * 3600]
    assert [i["target_seconds"] for i in items] == [4 * 3600, 4 * 3600]
    assert [i["overdue"] for i in items] == [False, False]
    due = datetime.fromisoformat(items[0]["due_at"]) - datetime.fromisoformat(items[0]["opened_at"])
    assert due == 4 * HOUR
    assert (items[1]["opened_by_role"], items[1]["text"]) == ("seller", "The buyer vanished")
    assert (items[0]["buyer_id"], items[0]["buyer"]) == (buyer.pk, buyer.username)
    assert (items[0]["seller_id"], items[0]["seller"]) == (seller.pk, seller.username)

    clock.shift(timedelta(seconds=1))
    items = ok(support_api.get("/disputes"))["items"]
    assert [i["overdue"] for i in items] == [True, False]

    [done] = ok(support_api.get("/disputes", decided="true"))["items"]
    assert (done["id"], done["overdue"], done["outcome"]) == (decided, False, "refund")


def test_the_response_target_is_a_day_unless_configured(offer, buyer_api, support_api):
    open_dispute(buyer_api, paid_order(buyer_api, offer))

    [item] = ok(support_api.get("/disputes"))["items"]

    assert item["target_seconds"] == 24 * 3600 and item["overdue"] is False


def test_the_queue_keeps_the_fields_it_always_had(offer, buyer_api, support_api):
    dispute_id = open_dispute(buyer_api, paid_order(buyer_api, offer), "Nothing yet")

    page = ok(support_api.get("/disputes"))

    assert page["count"] == 1
    item = page["items"][0]
    assert {
        "id",
        "order_id",
        "order_state",
        "opened_by_role",
        "text",
        "opened_at",
        "age_seconds",
        "total",
        "currency",
        "decided_at",
        "outcome",
        "refund",
        "decision_text",
    } <= set(item)
    assert (item["id"], item["order_state"], item["text"]) == (
        dispute_id,
        "disputed",
        "Nothing yet",
    )
    assert ok(support_api.get(f"/disputes/{dispute_id}")) == item


def test_the_queue_and_a_dispute_are_for_support_only(offer, buyer_api, seller_api, stranger_api):
    dispute_id = open_dispute(buyer_api, paid_order(buyer_api, offer))

    for api in (buyer_api, seller_api, stranger_api):
        refused(api.get("/disputes"), 403, "forbidden")
        refused(api.get(f"/disputes/{dispute_id}"), 403, "forbidden")


def test_an_unknown_dispute_is_not_found(support_api):
    refused(support_api.get("/disputes/999999"), 404, "not_found")
    refused(support_api.get(f"/disputes/{2**70}"), 404, "not_found")


# --- a constant number of queries --------------------------------------------------------------


def flagged_dispute(buyer, seller, clock, n: int) -> None:
    """A disputed order with something for each flag to read: a message, a delivery, an
    early release and a download, new terms, a cancellation request."""
    offer = make_offer(seller, title=f"Offer {n}")
    order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    services.order_pay(order_id=order.pk, user=buyer)
    clock.shift(timedelta(seconds=1))
    services.message_post(order_id=order.pk, user=buyer, text="Mail me: ben@example.com")
    delivery = order_deliver(
        order_id=order.pk, user=seller, text="", files=[SimpleUploadedFile("f.txt", b"x")]
    )
    delivery_release_early(order_id=order.pk, user=seller, delivery_id=delivery.pk)
    file = delivery.files.get()
    visit = Visit(user=buyer, address="127.0.0.1", user_agent="test")
    file_served_record(file=file, visit=visit, sent=SentRange(status=200, bytes=1, range=""))
    fields = OfferFields(
        title=offer.title,
        description=offer.description,
        price=offer.price,
        currency=offer.currency,
        delivery_days=offer.delivery_days,
        revisions=offer.revisions,
        terms="Terms v2",
        requirements=offer.requirements,
        requires_acceptance=False,
    )
    offer_update(offer_id=offer.pk, seller=seller, fields=fields)
    cancellation.order_request_cancellation(order_id=order.pk, user=buyer, text="No", refund=0)
    dispute_open(order_id=order.pk, user=buyer, text="Not as asked")


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_the_queue_costs_the_same_with_one_dispute_or_thirty(buyer, seller, support_api, clock):
    flagged_dispute(buyer, seller, clock, 0)
    support_api.get("/disputes")  # warm up
    few = queries(lambda: support_api.get("/disputes"))

    for n in range(1, 30):
        clock.shift(timedelta(minutes=1))
        flagged_dispute(make_user("buyer"), seller, clock, n)

    page = ok(support_api.get("/disputes"))
    assert page["count"] == len(page["items"]) == 30
    assert {f["code"] for f in page["items"][-1]["flags"]} == {
        "originals_then_exit",
        "changed_after_start",
        "contact_shared",
    }
    assert queries(lambda: support_api.get("/disputes")) == few
