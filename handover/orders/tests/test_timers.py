"""Every order timer with an injected clock: the worker acts exactly when a window runs out,
never before, and only once."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handover.disputes.models import Dispute
from handover.evidence.models import Event
from handover.ledger.models import LedgerTransaction
from handover.ops.scheduler import sweep_enqueue_if_idle
from handover.ops.tasks import timers_sweep
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import (
    NOTHING_HELD,
    PLATFORM_SHARE,
    SELLER_SHARE,
    TOTAL,
    balances,
    deliver,
    last_transition,
    ledger_kinds,
    ok,
    paid_order,
    place,
)

SECOND = timedelta(seconds=1)
NOTHING = {"fired": 0, "cleared": 0}


def state(order_id: int) -> str:
    return Order.objects.values_list("state", flat=True).get(pk=order_id)


def timer_at(order_id: int):
    return Order.objects.values_list("timer_at", flat=True).get(pk=order_id)


def assert_timer_moved(order_id: int, action: str, source: str, target: str) -> Event:
    event = last_transition(order_id)
    assert (event.actor_id, event.actor_role) == (None, "timer")
    assert (event.payload["action"], event.payload["from"], event.payload["to"]) == (
        action,
        source,
        target,
    )
    return event


def delivered(buyer_api, seller_api, offer) -> int:
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    return order_id


def test_auto_complete_runs_after_the_configured_delay_and_not_before(
    offer, seller, buyer_api, seller_api, settings, clock
):
    settings.HANDOVER_AUTO_COMPLETE_AFTER = timedelta(hours=5)
    order_id = delivered(buyer_api, seller_api, offer)
    assert timer_at(order_id) == timezone.now() + timedelta(hours=5)

    clock.shift(timedelta(hours=5) - SECOND)
    assert timers_run_due() == NOTHING
    assert state(order_id) == "delivered"

    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    assert state(order_id) == "completed"
    event = assert_timer_moved(order_id, "accept", "delivered", "completed")
    assert event.payload["seller"] == SELLER_SHARE
    assert balances(order_id, seller)["pending"] == SELLER_SHARE
    assert balances(order_id, seller)["fees"] == PLATFORM_SHARE


def test_buyer_switching_auto_complete_off_keeps_the_order_delivered(
    offer, buyer, buyer_api, seller_api, settings, clock
):
    order_id = delivered(buyer_api, seller_api, offer)

    order = ok(buyer_api.act(order_id, "auto-complete", {"enabled": False}))

    assert order["auto_complete"] is False and order["timer_at"] is None
    changed = Event.objects.get(order_id=order_id, type="order.auto_complete_changed")
    assert (changed.actor_id, changed.payload) == (buyer.pk, {"enabled": False})
    clock.shift(settings.HANDOVER_AUTO_COMPLETE_AFTER * 10)
    assert timers_run_due() == NOTHING
    assert state(order_id) == "delivered"
    assert ledger_kinds(order_id) == ["capture"]

    order = ok(buyer_api.act(order_id, "auto-complete", {"enabled": True}))
    assert order["timer_action"] == "accept"
    assert timer_at(order_id) == timezone.now() + settings.HANDOVER_AUTO_COMPLETE_AFTER


def test_only_the_buyer_switches_auto_complete(offer, buyer_api, seller_api):
    order_id = delivered(buyer_api, seller_api, offer)
    before = db_snapshot()

    r = seller_api.act(order_id, "auto-complete", {"enabled": False})

    assert r.status_code == 409 and r.json()["error"] == "transition_not_allowed"
    assert db_snapshot() == before


@pytest.mark.parametrize("answer", ["decline", "withdraw"])
def test_auto_complete_pauses_during_a_cancellation_request_and_resumes_with_the_time_left(
    offer, buyer_api, seller_api, settings, clock, answer
):
    settings.HANDOVER_AUTO_COMPLETE_AFTER = timedelta(days=3)
    settings.HANDOVER_CANCELLATION_WINDOW = timedelta(days=2)
    order_id = delivered(buyer_api, seller_api, offer)
    clock.shift(timedelta(days=1))
    ok(buyer_api.act(order_id, "request-cancellation", {"text": "Too slow", "refund": 1000}))
    assert timer_at(order_id) == timezone.now() + timedelta(days=2)

    clock.shift(timedelta(days=1, hours=23))  # auto-complete would have run by now
    assert timers_run_due() == NOTHING
    if answer == "decline":
        r = seller_api.act(order_id, "decline-cancellation", {"text": "Nearly done"})
    else:
        r = buyer_api.act(order_id, "withdraw-cancellation")
    assert ok(r)["state"] == "delivered"

    assert timer_at(order_id) == timezone.now() + timedelta(days=2)  # 3 days less the 1 used
    clock.shift(timedelta(days=2) - SECOND)
    assert timers_run_due() == NOTHING
    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}
    assert state(order_id) == "completed"


def test_unanswered_cancellation_cancels_with_the_proposed_refund_when_nothing_was_released(
    offer, seller, buyer_api, seller_api, settings, clock
):
    order_id = delivered(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "request-cancellation", {"text": "Wrong colours", "refund": 3000}))
    clock.shift(settings.HANDOVER_CANCELLATION_WINDOW - SECOND)
    assert timers_run_due() == NOTHING

    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    order = Order.objects.get(pk=order_id)
    assert (order.state, order.refunded, order.cancellation_requested_by) == ("cancelled", 3000, "")
    event = assert_timer_moved(
        order_id, "expire_cancellation", "cancellation_requested", "cancelled"
    )
    assert (event.payload["refund"], event.payload["seller"], event.payload["platform"]) == (
        3000,
        5725,
        1825,
    )
    assert balances(order_id, seller) == {
        "world": -TOTAL + 3000,
        "escrow": 0,
        "pending": 5725,
        "available": 0,
        "fees": 1825,
        "losses": 0,
    }


def test_unanswered_cancellation_goes_to_support_when_originals_were_released_early(
    offer, seller, buyer_api, seller_api, settings, clock
):
    order_id = paid_order(buyer_api, offer)
    delivery = deliver(seller_api, order_id)
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery["id"]}))
    ok(buyer_api.act(order_id, "request-cancellation", {"text": "Keep it", "refund": TOTAL}))

    clock.shift(settings.HANDOVER_CANCELLATION_WINDOW + SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    assert state(order_id) == "disputed"
    event = assert_timer_moved(
        order_id, "expire_cancellation", "cancellation_requested", "disputed"
    )
    dispute = Dispute.objects.get(order_id=order_id)
    assert event.payload["dispute_id"] == dispute.pk
    assert (dispute.opened_by_id, dispute.opened_by_role, dispute.decided_at) == (
        None,
        "timer",
        None,
    )
    assert dispute.state_before == "cancellation_requested"
    assert balances(order_id, seller)["escrow"] == TOTAL  # nobody is paid by silence
    assert ledger_kinds(order_id) == ["capture"]


def test_unanswered_order_is_declined_with_a_full_refund_when_the_acceptance_window_ends(
    seller, buyer_api, settings, clock
):
    offer = make_offer(seller, requires_acceptance=True)
    order_id = place(buyer_api, offer)["id"]
    ok(buyer_api.act(order_id, "pay"))
    clock.shift(settings.HANDOVER_ACCEPTANCE_WINDOW - SECOND)
    assert timers_run_due() == NOTHING

    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    assert state(order_id) == "cancelled"
    event = assert_timer_moved(order_id, "decline_order", "awaiting_acceptance", "cancelled")
    assert event.payload["refund"] == TOTAL
    assert balances(order_id, seller) == NOTHING_HELD


def test_unpaid_order_is_abandoned_when_the_payment_window_ends(offer, buyer_api, settings, clock):
    order_id = place(buyer_api, offer)["id"]
    clock.shift(settings.HANDOVER_PAYMENT_WINDOW - SECOND)
    assert timers_run_due() == NOTHING

    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    assert state(order_id) == "cancelled"
    assert_timer_moved(order_id, "abandon", "pending_payment", "cancelled")
    assert ledger_kinds(order_id) == []
    r = buyer_api.act(order_id, "pay")
    assert r.status_code == 409


def test_clearance_moves_pending_to_available_once_after_the_clearance_period(
    offer, seller, buyer_api, seller_api, settings, clock
):
    order_id = delivered(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    clock.shift(settings.HANDOVER_CLEARANCE_PERIOD - SECOND)
    assert timers_run_due() == NOTHING
    assert ok(seller_api.get("/balance"))["pending"] == SELLER_SHARE

    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 0, "cleared": 1}

    funds = ok(seller_api.get("/balance"))
    assert (funds["pending"], funds["available"]) == (0, SELLER_SHARE)
    cleared = Event.objects.get(order_id=order_id, type="ledger.cleared")
    assert (cleared.actor_role, cleared.payload) == ("timer", {"amount": SELLER_SHARE})
    clock.shift(settings.HANDOVER_CLEARANCE_PERIOD)
    assert timers_run_due() == NOTHING
    assert ledger_kinds(order_id) == ["capture", "settlement", "clearance"]
    assert balances(order_id, seller)["available"] == SELLER_SHARE


def test_timers_run_due_twice_does_nothing_more_the_second_time(
    offer, seller, buyer_api, seller_api, settings, clock
):
    unpaid = place(buyer_api, offer)["id"]
    to_complete = delivered(buyer_api, seller_api, offer)
    to_clear = delivered(buyer_api, seller_api, offer)
    ok(buyer_api.act(to_clear, "accept"))
    clock.shift(settings.HANDOVER_CLEARANCE_PERIOD + SECOND)

    assert timers_run_due() == {"fired": 2, "cleared": 1}
    after_first = db_snapshot()
    assert timers_run_due() == NOTHING

    assert db_snapshot() == after_first
    assert (state(unpaid), state(to_complete), state(to_clear)) == (
        "cancelled",
        "completed",
        "completed",
    )
    # The order completed by this sweep clears only one period later.
    assert Order.objects.get(pk=to_complete).cleared_at is None
    assert LedgerTransaction.objects.filter(kind="clearance").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_an_enqueued_sweep_and_the_scheduler_never_queues_two(
    offer, buyer_api, seller_api, settings, clock
):
    order_id = delivered(buyer_api, seller_api, offer)
    clock.shift(settings.HANDOVER_AUTO_COMPLETE_AFTER + SECOND)

    assert sweep_enqueue_if_idle() is True
    assert sweep_enqueue_if_idle() is False  # one is waiting already
    sweeps = DBTaskResult.objects.filter(task_path=timers_sweep.module_path)
    assert sweeps.count() == 1
    call_command(
        "db_worker", batch=True, queue_name="*", reload=False, startup_delay=False, verbosity=0
    )

    result = sweeps.get()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is not None and result.return_value["fired"] == 1
    assert state(order_id) == "completed"
    assert_timer_moved(order_id, "accept", "delivered", "completed")
    assert sweep_enqueue_if_idle() is True  # the last one finished: a new one may go
    timers_sweep.enqueue()
    call_command(
        "db_worker", batch=True, queue_name="*", reload=False, startup_delay=False, verbosity=0
    )
    assert sweeps.filter(status=TaskResultStatus.SUCCESSFUL).count() == 3
    assert Event.objects.filter(order_id=order_id, type="order.transition").count() == 3
