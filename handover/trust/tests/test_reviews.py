"""Double-blind reviews through the API: who may write one and when, who reads it and when,
and the order's event that commits to a review without showing it."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from handover.api.tests.test_api_errors import (
    HOSTILE,
    NUL_TEXT,
    assert_error,
    huge_ints,
    json_values,
    not_a_string,
    not_an_int,
    too_long,
)
from handover.evidence.models import Event
from handover.orders.rules import State
from handover.testing.factories import make_offer, order_in_state
from handover.testing.steps import TOTAL, ok, open_dispute, paid_order, refused
from handover.trust.models import Review
from handover.trust.rules import REVIEW_WINDOW, review_sha256
from handover.trust.tests.helpers import completed_order, review, reviews_of, trust_snapshot

SECOND = timedelta(seconds=1)


@pytest.fixture
def order_id(offer, buyer_api, seller_api) -> int:
    return completed_order(buyer_api, seller_api, offer)


def public_reviews(api, user) -> list[dict[str, Any]]:
    return ok(api.get(f"/users/{user.pk}/reviews"))["items"]


def assert_commitment(review_out: dict[str, Any]) -> None:
    """The review's event carries its hash and nothing of what it says."""
    event = Event.objects.get(type="review.submitted", payload__review_id=review_out["id"])
    assert event.payload == {
        "review_id": review_out["id"],
        "author_role": review_out["author_role"],
        "sha256": review_sha256(
            **{
                k: review_out[k]
                for k in ("order_id", "author_id", "subject_id", "author_role", "rating", "text")
            },
            salt=review_out["salt"],
        ),
    }
    assert (event.order_id, event.actor_id) == (review_out["order_id"], review_out["author_id"])


# --- double-blind ----------------------------------------------------------------------------


def test_a_lone_review_is_hidden_from_the_other_party_and_from_strangers(
    order_id, buyer, seller, buyer_api, seller_api, stranger_api
):
    mine = ok(review(buyer_api, order_id, 5, "Fast and friendly."), 201)

    assert (mine["author_id"], mine["subject_id"], mine["author_role"]) == (
        buyer.pk,
        seller.pk,
        "buyer",
    )
    assert reviews_of(buyer_api, order_id)["reviews"] == [mine]
    theirs = reviews_of(seller_api, order_id)
    assert theirs["reviews"] == [] and theirs["hidden"] == ["buyer"]
    assert public_reviews(stranger_api, seller) == []
    assert ok(stranger_api.get(f"/users/{seller.pk}/record"))["review_count"] == 0
    # The seller reads the order's events: the review is announced, not shown.
    events = ok(seller_api.get(f"/orders/{order_id}/events"))["items"]
    announced = [e for e in events if e["type"] == "review.submitted"]
    assert len(announced) == 1 and "Fast and friendly" not in str(events)
    assert set(announced[0]["payload"]) == {"review_id", "author_role", "sha256"}
    assert_commitment(mine)


def test_both_reviews_are_visible_once_both_are_in(
    order_id, buyer, seller, buyer_api, seller_api, stranger_api
):
    from_buyer = ok(review(buyer_api, order_id, 5, "Fast and friendly."), 201)
    from_seller = ok(review(seller_api, order_id, 4, "Clear brief."), 201)

    for api in (buyer_api, seller_api):
        both = reviews_of(api, order_id)
        assert both["reviews"] == [from_buyer, from_seller] and both["hidden"] == []
    assert public_reviews(stranger_api, seller) == [from_buyer]
    assert public_reviews(stranger_api, buyer) == [from_seller]
    assert_commitment(from_seller)
    record = ok(stranger_api.get(f"/users/{seller.pk}/record"))
    assert (record["review_count"], record["review_average"]) == (1, 5.0)
    assert record["as_seller"]["review_count"] == 1 and record["as_buyer"]["review_count"] == 0


def test_a_lone_review_becomes_visible_when_the_window_ends_and_writing_closes(
    offer, clock, seller, buyer_api, seller_api, stranger_api
):
    order_id = completed_order(buyer_api, seller_api, offer)
    closed = timezone.now()
    mine = ok(review(buyer_api, order_id), 201)
    ends_at = datetime.fromisoformat(reviews_of(seller_api, order_id)["window_ends_at"])
    assert abs(ends_at - (closed + REVIEW_WINDOW)) < timedelta(milliseconds=1)

    clock.shift(REVIEW_WINDOW - SECOND)
    assert reviews_of(seller_api, order_id)["hidden"] == ["buyer"]
    assert public_reviews(stranger_api, seller) == []

    clock.shift(SECOND)
    assert reviews_of(seller_api, order_id)["reviews"] == [mine]
    assert public_reviews(stranger_api, seller) == [mine]
    before = trust_snapshot()
    refused(review(seller_api, order_id), 409, "not_reviewable")
    assert trust_snapshot() == before


def test_support_reads_every_review_at_once(order_id, buyer_api, support_api):
    mine = ok(review(buyer_api, order_id), 201)
    assert reviews_of(support_api, order_id) == {
        "reviews": [mine],
        "hidden": [],
        "window_ends_at": reviews_of(buyer_api, order_id)["window_ends_at"],
    }


def test_a_stranger_sees_no_reviews_of_an_order(order_id, buyer_api, stranger_api):
    ok(review(buyer_api, order_id), 201)
    refused(stranger_api.get(f"/orders/{order_id}/reviews"), 404, "not_found")
    refused(stranger_api.get("/orders/999999/reviews"), 404, "not_found")
    refused(stranger_api.get("/users/999999/reviews"), 404, "not_found")


# --- who may review, and when ----------------------------------------------------------------


def test_both_parties_review_a_cancelled_order(offer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    r = seller_api.act(order_id, "request-cancellation", {"text": "Too busy", "refund": TOTAL})
    ok(r)
    assert ok(buyer_api.act(order_id, "accept-cancellation"))["state"] == "cancelled"

    ok(review(buyer_api, order_id, 2, "Cancelled on me."), 201)
    ok(review(seller_api, order_id, 5), 201)
    assert Review.objects.filter(order_id=order_id).count() == 2


@pytest.mark.parametrize(
    "state",
    [State.PENDING_PAYMENT, State.IN_PROGRESS, State.DELIVERED, State.CANCELLATION_REQUESTED],
)
def test_an_open_order_cannot_be_reviewed(
    offer, buyer, seller, support, buyer_api, seller_api, state
):
    order = order_in_state(state, buyer=buyer, seller=seller, support=support, offer=offer)
    before = trust_snapshot()

    for api in (buyer_api, seller_api):
        refused(review(api, order.pk), 409, "not_reviewable")
    assert trust_snapshot() == before


def test_an_order_disputed_after_completion_cannot_be_reviewed_until_decided(
    order_id, buyer_api, seller_api
):
    open_dispute(buyer_api, order_id)
    refused(review(seller_api, order_id), 409, "not_reviewable")


def test_an_order_the_seller_declined_cannot_be_reviewed(seller, buyer_api, seller_api):
    order_id = ok(
        buyer_api.post(
            "/orders",
            {"offer_id": make_offer(seller, requires_acceptance=True).pk, "answers": ["A", "B"]},
        ),
        201,
    )["id"]
    ok(buyer_api.act(order_id, "pay"))
    assert ok(seller_api.act(order_id, "decline-order"))["state"] == "cancelled"
    before = trust_snapshot()

    refused(review(buyer_api, order_id, 1), 409, "not_reviewable")
    assert trust_snapshot() == before


def test_a_party_reviews_an_order_once(order_id, buyer_api):
    first = ok(review(buyer_api, order_id, 5, "First."), 201)
    before = trust_snapshot()

    refused(review(buyer_api, order_id, 1, "Changed my mind."), 409, "already_reviewed")
    assert trust_snapshot() == before
    assert reviews_of(buyer_api, order_id)["reviews"] == [first]


def test_strangers_and_support_cannot_review(order_id, stranger_api, support_api):
    before = trust_snapshot()
    refused(review(stranger_api, order_id), 404, "not_found")
    refused(review(stranger_api, 999999), 404, "not_found")
    refused(review(support_api, order_id), 403, "forbidden")
    assert trust_snapshot() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"rating": 0}, 400),
        ({"rating": 6}, 400),
        ({"rating": -1}, 400),
        ({"rating": 2**64}, 400),
        ({"rating": 4.0}, 422),
        ({"rating": 4.5}, 422),
        ({"rating": True}, 422),
        ({"rating": "5"}, 422),
        ({"rating": None}, 422),
        ({"text": "No rating"}, 422),
        ({"rating": 5, "text": 5}, 422),
        ({"rating": 5, "text": None}, 422),
        ({"rating": 5, "text": "a\x00b"}, 400),
        ({"rating": 5, "text": "é" * 2001}, 400),
    ],
)
def test_a_bad_review_is_refused_and_changes_nothing(order_id, buyer_api, body, status):
    before = trust_snapshot()
    assert_error(buyer_api.post(f"/orders/{order_id}/review", body), status)
    assert trust_snapshot() == before


def test_a_rating_alone_is_a_review(order_id, buyer_api):
    assert ok(buyer_api.post(f"/orders/{order_id}/review", {"rating": 3}), 201)["text"] == ""


# --- hostile input, generated ----------------------------------------------------------------

BAD_REVIEW = {
    "rating": st.one_of(st.integers(max_value=0), st.integers(min_value=6), huge_ints, not_an_int),
    "text": st.one_of(NUL_TEXT, too_long(2000), not_a_string),
}


def bad_reviews() -> st.SearchStrategy:
    """A valid review with one field replaced by a bad value, or its rating left out."""
    base = {"rating": 4, "text": "Fine."}
    one_bad = st.sampled_from(sorted(BAD_REVIEW)).flatmap(
        lambda field: BAD_REVIEW[field].map(lambda value: {**base, field: value})
    )
    return one_bad | st.just({"text": "Fine."})


def is_valid_review(body: Any) -> bool:
    return isinstance(body, dict) and "rating" in body


def test_hostile_reviews_are_refused_and_change_nothing(order_id, buyer_api, seller_api):
    before = trust_snapshot()

    @HOSTILE
    @given(body=bad_reviews() | json_values.filter(lambda b: not is_valid_review(b)))
    def check(body):
        response = buyer_api.post(f"/orders/{order_id}/review", body)
        assert response.status_code in (400, 422), response.content
        assert_error(response)
        assert trust_snapshot() == before

    check()


# --- the database's own guards ---------------------------------------------------------------


def test_the_database_refuses_a_bad_rating_a_second_review_and_a_review_of_oneself(
    order_id, buyer, seller, buyer_api
):
    ok(review(buyer_api, order_id), 201)
    valid: dict[str, Any] = {
        "order_id": order_id,
        "author_id": seller.pk,
        "subject_id": buyer.pk,
        "author_role": "seller",
        "rating": 3,
        "salt": "00",
        "created_at": timezone.now(),
    }
    second = {"author_id": buyer.pk, "subject_id": seller.pk, "author_role": "buyer"}
    for bad in (
        {"rating": 0},
        {"rating": 6},
        second,
        {"subject_id": seller.pk},
        {"author_role": "x"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(**{**valid, **bad})
    Review.objects.create(**valid)  # only the changes were wrong
