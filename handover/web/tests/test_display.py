"""How pages word timers: pure functions, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from handover.orders.models import Order
from handover.orders.rules import State
from handover.web.display import countdown, order_timers

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (timedelta(days=2, hours=4, minutes=30), "2 days 4 hours"),
        (timedelta(days=1, hours=1), "1 day 1 hour"),
        (timedelta(days=3), "3 days"),
        (timedelta(days=2, minutes=59), "2 days"),
        (timedelta(hours=5, minutes=1), "5 hours 1 minute"),
        (timedelta(minutes=45, seconds=59), "45 minutes"),
        (timedelta(seconds=59), "less than a minute"),
        (timedelta(seconds=-30), "less than a minute"),
    ],
)
def test_countdown_says_the_two_largest_units_rounded_down(left, said):
    assert countdown(left) == said


def texts(order: Order) -> list[str]:
    return [timer.text for timer in order_timers(order, NOW)]


def test_a_delivered_order_says_when_it_auto_completes():
    order = Order(state=State.DELIVERED, timer_at=NOW + timedelta(days=2, hours=4, minutes=10))
    assert texts(order) == ["Auto-completes in 2 days 4 hours"]
    assert order_timers(order, NOW)[0].at == order.timer_at


def test_a_delivered_order_without_auto_complete_says_the_buyer_completes_it():
    order = Order(state=State.DELIVERED, auto_complete=False, timer_at=None)
    assert texts(order) == ["Auto-complete is off: the order completes when the buyer accepts"]


def test_an_unpaid_order_says_when_it_is_dropped():
    order = Order(state=State.PENDING_PAYMENT, timer_at=NOW + timedelta(minutes=59, seconds=30))
    assert texts(order) == ["Cancelled unless paid within 59 minutes"]


def test_an_order_in_progress_says_when_delivery_is_due_or_how_late_it_is():
    due = Order(state=State.IN_PROGRESS, due_at=NOW + timedelta(days=2, hours=23, minutes=59))
    late = Order(state=State.IN_PROGRESS, due_at=NOW - timedelta(hours=5))
    assert texts(due) == ["Delivery due in 2 days 23 hours"]
    assert texts(late) == ["Delivery late by 5 hours"]


def test_an_order_awaiting_acceptance_and_a_cancellation_request_say_what_the_timer_does():
    waiting = Order(state=State.AWAITING_ACCEPTANCE, timer_at=NOW + timedelta(hours=23))
    asked = Order(
        state=State.CANCELLATION_REQUESTED,
        return_state=State.IN_PROGRESS,
        timer_at=NOW + timedelta(hours=47, minutes=1),
    )
    assert texts(waiting) == [
        "Cancelled with a full refund unless the seller accepts within 23 hours"
    ]
    assert texts(asked) == ["If nobody answers the request, it is settled in 1 day 23 hours"]


def test_a_cancellation_request_on_a_delivered_order_shows_the_paused_auto_complete():
    order = Order(
        state=State.CANCELLATION_REQUESTED,
        return_state=State.DELIVERED,
        timer_at=NOW + timedelta(hours=48),
        paused_remaining=timedelta(days=1, hours=2),
    )
    assert (
        texts(order)[1]
        == "Auto-complete is paused with 1 day 2 hours left while the request is open"
    )


def test_closed_orders_show_no_timers():
    for state in (State.COMPLETED, State.CANCELLED, State.CHARGED_BACK):
        order = Order(state=state, timer_at=None, paused_remaining=timedelta(hours=3))
        assert texts(order) == []
