"""A user's record, built from orders played through the API: what strangers judge each
other by, and what it costs to read."""

from typing import Any

import pytest
from django.utils import timezone

from handover.api.tests.test_queries import queries
from handover.ops.timers import timers_run_due
from handover.orders.rules import Actor, State
from handover.testing.actors import Api
from handover.testing.factories import make_offer, order_in_state
from handover.testing.steps import (
    TOTAL,
    decide,
    delivered_order,
    download,
    downloaded_bytes,
    ok,
    open_dispute,
    paid_order,
    place,
    refused,
)
from handover.trust.rules import RiskThreshold, record_is_risky, record_risks
from handover.trust.selectors import user_record
from handover.trust.tests.helpers import completed_order, review

NO_CANCELLATIONS = {
    "total": 0,
    "by_buyer": 0,
    "by_seller": 0,
    "by_timer": 0,
    "by_support": 0,
    "agreed": 0,
    "after_release": 0,
    "by_buyer_after_release": 0,
}
NOTHING: dict[str, Any] = {
    "completed": 0,
    "charged_back": 0,
    "cancellations": NO_CANCELLATIONS,
    "disputes_opened": 0,
    "disputes_won": 0,
    "disputes_lost": 0,
    "disputes_split": 0,
    "review_count": 0,
    "review_average": None,
}


def record_of(api: Api, user) -> dict[str, Any]:
    return ok(api.get(f"/users/{user.pk}/record"))


def cancel(asker: Api, other: Api, order_id: int, refund: int = TOTAL) -> None:
    ok(asker.act(order_id, "request-cancellation", {"text": "No longer", "refund": refund}))
    assert ok(other.act(order_id, "accept-cancellation"))["state"] == "cancelled"


def play_four_orders(offer, buyer_api, seller_api, support_api) -> None:
    """A completed order; a buyer's cancellation after originals were released early and
    downloaded; a cancellation the seller asked for, nothing released; a dispute the buyer
    opened and lost."""
    completed_order(buyer_api, seller_api, offer)

    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    delivery_id = ok(seller_api.get(f"/orders/{order_id}/deliveries"))[0]["id"]
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery_id}))
    assert downloaded_bytes(download(buyer_api, file_id))
    cancel(buyer_api, seller_api, order_id)

    cancel(seller_api, buyer_api, paid_order(buyer_api, offer))

    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(decide(support_api, open_dispute(buyer_api, order_id), "release"))


def test_the_record_counts_completions_cancellations_and_disputes(
    offer, buyer, seller, buyer_api, seller_api, support_api, stranger_api
):
    play_four_orders(offer, buyer_api, seller_api, support_api)
    place(buyer_api, offer)  # never paid: no part of the record
    cancellations = {
        **NO_CANCELLATIONS,
        "total": 2,
        "by_buyer": 1,
        "by_seller": 1,
        "agreed": 2,
        "after_release": 1,
        "by_buyer_after_release": 1,
    }

    as_seen_by_seller = record_of(seller_api, buyer)

    assert as_seen_by_seller == {
        "user_id": buyer.pk,
        "username": buyer.username,
        "orders_completed": 2,
        "as_buyer": {
            **NOTHING,
            "completed": 2,
            "cancellations": cancellations,
            "disputes_opened": 1,
            "disputes_lost": 1,
        },
        "as_seller": NOTHING,
        "reports_received": 0,
        "reporters": 0,
        "review_count": 0,
        "review_average": None,
    }
    assert record_of(stranger_api, buyer) == as_seen_by_seller
    assert record_of(buyer_api, seller)["as_seller"] == {
        **NOTHING,
        "completed": 2,
        "cancellations": cancellations,
        "disputes_won": 1,
    }
    assert record_of(buyer_api, seller)["as_buyer"] == NOTHING


def test_the_buyer_who_cancelled_after_taking_originals_crosses_the_default_threshold(
    offer, buyer, buyer_api, seller_api, support_api
):
    play_four_orders(offer, buyer_api, seller_api, support_api)

    record = user_record(buyer)

    assert record.as_dict() == record_of(seller_api, buyer)
    assert record_risks(record, RiskThreshold()) == [
        "cancelled 1 of 4 orders after taking originals"
    ]
    assert not record_is_risky(record, RiskThreshold(max_release_cancellation_percent=25))


def test_cancellations_by_the_timer_and_by_support_are_counted_apart(
    seller, buyer, support, buyer_api, support_api, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    waiting = place(buyer_api, make_offer(seller, requires_acceptance=True))
    ok(buyer_api.act(waiting["id"], "pay"))
    time_machine.shift(settings.HANDOVER_ACCEPTANCE_WINDOW)
    assert timers_run_due()["fired"] == 1
    refunded = order_in_state(
        State.CANCELLED, buyer=buyer, seller=seller, support=support, from_state=State.DISPUTED
    )
    assert refunded.refunded == refunded.total

    record = record_of(support_api, buyer)["as_buyer"]
    as_seller = record_of(support_api, seller)["as_seller"]

    # The acceptance window ran out on the seller: a cancellation of theirs, not the buyer's.
    assert as_seller["cancellations"] == {
        **NO_CANCELLATIONS,
        "total": 2,
        "by_timer": 1,
        "by_support": 1,
    }
    assert record["cancellations"] == {**NO_CANCELLATIONS, "total": 1, "by_support": 1}
    assert (record["disputes_opened"], record["disputes_won"]) == (1, 1)
    assert as_seller["disputes_lost"] == 1


def test_a_split_is_lost_by_neither_party(offer, buyer, seller, buyer_api, seller_api, support_api):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(decide(support_api, open_dispute(seller_api, order_id), "split", TOTAL // 2))

    as_buyer = record_of(support_api, buyer)["as_buyer"]
    as_seller = record_of(support_api, seller)["as_seller"]

    assert as_buyer == {**NOTHING, "completed": 1, "disputes_split": 1}
    assert as_seller == {**NOTHING, "completed": 1, "disputes_opened": 1, "disputes_split": 1}


def test_a_chargeback_goes_on_the_buyers_record(buyer, seller, support, support_api):
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    ok(support_api.act(order.pk, "chargeback"))
    # On hold the bank has not decided: the order is out of "completed" and counts nowhere.
    assert record_of(support_api, buyer)["as_buyer"] == NOTHING
    ok(support_api.act(order.pk, "chargeback-lost"))

    assert record_of(support_api, buyer)["as_buyer"] == {**NOTHING, "charged_back": 1}
    assert record_is_risky(user_record(buyer), RiskThreshold())


def test_only_visible_reviews_count_in_the_average(
    offer, seller, buyer_api, seller_api, stranger_api
):
    hidden = completed_order(buyer_api, seller_api, offer)
    ok(review(buyer_api, hidden, 1), 201)  # the seller has not answered: hidden
    shown = completed_order(buyer_api, seller_api, offer)
    ok(review(buyer_api, shown, 4), 201)
    ok(review(seller_api, shown, 5), 201)

    record = record_of(stranger_api, seller)

    assert (record["review_count"], record["review_average"]) == (1, 4.0)
    assert (record["as_seller"]["review_count"], record["as_seller"]["review_average"]) == (1, 4.0)


def test_reports_are_counted_with_the_number_of_reporters(
    seller, buyer_api, stranger_api, support_api
):
    for _ in range(3):
        ok(buyer_api.post(f"/users/{seller.pk}/reports", {"reason": "spam"}), 201)
    ok(stranger_api.post(f"/users/{seller.pk}/reports", {"reason": "abusive"}), 201)

    record = record_of(support_api, seller)

    assert (record["reports_received"], record["reporters"]) == (4, 2)


def test_the_record_of_an_unknown_user_is_404_and_strangers_need_a_token(db, buyer_api, seller):
    refused(buyer_api.get("/users/999999/record"), 404, "not_found")
    refused(Api(None).get(f"/users/{seller.pk}/record"), 401, "not_authenticated")


KINDS: list[dict[str, Any]] = [
    {"state": State.COMPLETED},
    {"state": State.CANCELLED, "from_state": State.CANCELLATION_REQUESTED},
    {"state": State.CANCELLED, "requested_by": Actor.SELLER},
    {"state": State.CANCELLED, "from_state": State.DISPUTED},
    {"state": State.COMPLETED, "from_state": State.DISPUTED},
    {"state": State.CANCELLED, "from_state": State.AWAITING_ACCEPTANCE},
    {"state": State.DISPUTED},
    {"state": State.IN_PROGRESS},
    {"state": State.CANCELLED, "from_state": State.PENDING_PAYMENT},
]


@pytest.mark.parametrize("path", ["/users/{}/record", "/users/{}/reviews"])
def test_reading_a_record_costs_the_same_with_one_order_or_ten(
    offer, buyer, seller, support, buyer_api, seller_api, path
):
    def make(kind: dict[str, Any]) -> None:
        # A fresh offer that asks for acceptance where the order passes that state.
        on = None if kind.get("from_state") == State.AWAITING_ACCEPTANCE else offer
        order = order_in_state(buyer=buyer, seller=seller, support=support, offer=on, **kind)
        if order.state in (State.COMPLETED, State.CANCELLED) and order.due_at:
            for api in (buyer_api, seller_api):
                ok(review(api, order.pk), 201)

    make(KINDS[0])
    seller_api.get(path.format(buyer.pk))  # warm up
    one = queries(lambda: seller_api.get(path.format(buyer.pk)))

    for n in range(9):
        make(KINDS[(n + 1) % len(KINDS)])

    assert queries(lambda: seller_api.get(path.format(buyer.pk))) == one
    # The declined order is a cancellation on the seller's record, not on the buyer's.
    assert record_of(seller_api, buyer)["as_buyer"]["cancellations"]["total"] == 3
    assert record_of(seller_api, seller)["as_seller"]["cancellations"]["total"] == 4
