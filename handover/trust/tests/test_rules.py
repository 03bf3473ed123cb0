"""The trust rules as plain functions: no database, no clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.errors import InvalidInput
from handover.orders.rules import (
    REVIEWABLE,
    CancelledOrder,
    State,
    cancellation_asker,
    cancellations_count,
    review_refusal,
)
from handover.trust.rules import (
    REVIEW_WINDOW,
    Asker,
    Cancellations,
    RiskThreshold,
    RoleRecord,
    UserRecord,
    record_is_risky,
    record_risks,
    review_sha256,
    reviews_visible,
)

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
times = st.datetimes(
    min_value=datetime(2030, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)
)


# --- reviews ---------------------------------------------------------------------------------


def test_reviews_stay_hidden_until_both_are_in_or_the_window_ends():
    closed = NOW - REVIEW_WINDOW
    assert reviews_visible(both_in=True, closed_at=NOW, now=NOW)
    assert not reviews_visible(both_in=False, closed_at=closed + SECOND, now=NOW)
    assert reviews_visible(both_in=False, closed_at=closed, now=NOW)
    assert not reviews_visible(both_in=False, closed_at=None, now=NOW)


@pytest.mark.parametrize("state", sorted(set(State) - REVIEWABLE))
def test_an_open_order_cannot_be_reviewed(state):
    assert review_refusal(state=state, taken_on=True, closed_at=NOW, now=NOW)


@pytest.mark.parametrize("state", sorted(REVIEWABLE))
def test_an_ended_order_can_be_reviewed_until_the_window_ends(state):
    assert review_refusal(state=state, taken_on=True, closed_at=NOW, now=NOW) is None
    last = NOW + REVIEW_WINDOW - SECOND
    assert review_refusal(state=state, taken_on=True, closed_at=NOW, now=last) is None
    assert review_refusal(state=state, taken_on=True, closed_at=NOW, now=last + SECOND)


def test_an_order_that_never_started_cannot_be_reviewed():
    refusal = review_refusal(state=State.CANCELLED, taken_on=False, closed_at=NOW, now=NOW)
    assert refusal == "An order that never started cannot be reviewed."


@given(closed_at=times, now=times, state=st.sampled_from(State), taken_on=st.booleans())
def test_nobody_can_write_a_review_after_reading_the_other_one(closed_at, now, state, taken_on):
    """While a review may still be written, a lone review is hidden: no answering it."""
    writable = review_refusal(state=state, taken_on=taken_on, closed_at=closed_at, now=now) is None
    if writable:
        assert not reviews_visible(both_in=False, closed_at=closed_at, now=now)


def test_the_review_hash_commits_to_every_field_and_the_salt():
    fields: dict[str, Any] = {
        "order_id": 1,
        "author_id": 2,
        "subject_id": 3,
        "author_role": "buyer",
        "rating": 5,
        "text": "",
        "salt": "ab" * 16,
    }
    digest = review_sha256(**fields)
    assert len(digest) == 64 and digest == review_sha256(**fields)
    changed: dict[str, Any] = {"order_id": 9, "author_id": 9, "subject_id": 9}
    changed |= {"author_role": "seller"}
    changed |= {"rating": 4, "text": " ", "salt": "cd" * 16}
    for name, value in changed.items():
        assert review_sha256(**{**fields, name: value}) != digest, name


# --- cancellations ---------------------------------------------------------------------------


def cancelled(action, actor, requester=None, released=False) -> CancelledOrder:
    return CancelledOrder(action=action, actor_role=actor, requester=requester, released=released)


@pytest.mark.parametrize(
    ("order", "asker"),
    [
        (cancelled("decline_order", "seller"), Asker.SELLER),
        (cancelled("decline_order", "timer"), Asker.TIMER),
        (cancelled("cancel_late", "buyer"), Asker.BUYER),
        (cancelled("accept_cancellation", "seller", "buyer"), Asker.BUYER),
        (cancelled("accept_cancellation", "buyer", "seller"), Asker.SELLER),
        (cancelled("expire_cancellation", "timer", "buyer"), Asker.BUYER),
        (cancelled("expire_cancellation", "timer", "seller"), Asker.SELLER),
        (cancelled("decide", "support"), Asker.SUPPORT),
        (cancelled("abandon", "buyer"), None),
        (cancelled("abandon", "timer"), None),
    ],
)
def test_who_started_a_cancellation(order, asker):
    assert cancellation_asker(order) == asker


def test_cancellations_are_counted_by_who_asked_agreement_and_release():
    counts = cancellations_count(
        [
            (cancelled("accept_cancellation", "seller", "buyer", released=True), 2),
            (cancelled("accept_cancellation", "buyer", "seller"), 1),
            (cancelled("expire_cancellation", "timer", "seller"), 1),
            (cancelled("cancel_late", "buyer"), 1),
            (cancelled("decline_order", "timer"), 3),
            (cancelled("decide", "support", "buyer", released=True), 1),
            (cancelled("abandon", "buyer"), 7),
        ]
    )
    assert counts == Cancellations(
        total=9,
        by_buyer=3,
        by_seller=2,
        by_timer=3,
        by_support=1,
        agreed=3,
        after_release=3,
        by_buyer_after_release=2,
    )


# --- the risk threshold ----------------------------------------------------------------------


def record(**buyer) -> UserRecord:
    reporters = buyer.pop("reporters", 0)
    return UserRecord(
        user_id=1,
        username="ben",
        as_buyer=RoleRecord(**buyer),
        as_seller=RoleRecord(),
        reports_received=reporters,
        reporters=reporters,
    )


def released(by_buyer: int) -> Cancellations:
    return Cancellations(
        total=by_buyer, by_buyer=by_buyer, after_release=by_buyer, by_buyer_after_release=by_buyer
    )


def test_a_new_buyer_is_not_risky_by_default():
    assert not record_is_risky(record(), RiskThreshold())
    assert record_risks(record(), RiskThreshold(min_completed=1)) == [
        "completed 0 orders, fewer than 1"
    ]


@pytest.mark.parametrize(
    ("buyer", "risky"),
    [
        ({"completed": 4, "cancellations": released(1)}, False),  # 1 of 5: 20 %, not above
        ({"completed": 3, "cancellations": released(1)}, True),  # 1 of 4: 25 %
        ({"completed": 0, "cancellations": released(1)}, True),  # 1 of 1
        ({"completed": 9, "cancellations": replace(released(5), by_buyer_after_release=0)}, False),
        ({"disputes_lost": 1}, False),
        ({"disputes_lost": 2}, True),
        ({"charged_back": 1}, True),
        ({"reporters": 2}, False),
        ({"reporters": 3}, True),
    ],
)
def test_a_record_is_risky_when_a_figure_is_above_its_maximum(buyer, risky):
    assert record_is_risky(record(**buyer), RiskThreshold()) is risky
    assert bool(record_risks(record(**buyer), RiskThreshold())) is risky


def test_only_the_buyer_side_of_a_record_counts():
    seller_side = RoleRecord(disputes_lost=9, charged_back=9, cancellations=released(9))
    assert not record_is_risky(replace(record(), as_seller=seller_side), RiskThreshold())


def test_a_threshold_comes_from_stored_json_with_defaults_for_what_is_missing():
    assert RiskThreshold.from_dict(None) == RiskThreshold() == RiskThreshold.from_dict({})
    threshold = RiskThreshold.from_dict({"max_disputes_lost": 0, "min_completed": 2})
    assert threshold == RiskThreshold(max_disputes_lost=0, min_completed=2)
    assert RiskThreshold.from_dict(threshold.as_dict()) == threshold


@pytest.mark.parametrize(
    "value",
    [
        [],
        "strict",
        {"max_reports": 1},
        {"max_disputes_lost": -1},
        {"max_disputes_lost": True},
        {"max_disputes_lost": 1.0},
        {"max_disputes_lost": "1"},
        {"max_disputes_lost": None},
        {"max_disputes_lost": 10**6},
        {"max_release_cancellation_percent": 101},
    ],
)
def test_a_bad_threshold_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        RiskThreshold.from_dict(value)
    assert refused.value.code == "bad_threshold"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
threshold_like = st.dictionaries(
    st.sampled_from([*RiskThreshold().as_dict(), "other"]), json_values, max_size=6
)


@given(value=json_values | threshold_like)
def test_any_json_is_a_threshold_that_round_trips_or_is_refused(value):
    try:
        threshold = RiskThreshold.from_dict(value)
    except InvalidInput:
        return
    assert RiskThreshold.from_dict(threshold.as_dict()) == threshold
    assert all(type(v) is int for v in threshold.as_dict().values())
