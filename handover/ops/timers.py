"""What the worker does when an order's timer or its clearance date passes. It lives with the
scheduler, above the domain apps: an unanswered cancellation request may open a dispute, and
orders does not know disputes."""

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from handover.disputes.services import cancellation_expire
from handover.lib.errors import HandoverError
from handover.orders import services
from handover.orders.models import Order
from handover.orders.rules import TIMER_ACTIONS, Action, State
from handover.orders.selectors import due_clearance_ids, due_timer_ids

logger = logging.getLogger(__name__)

_FIRE: dict[Action, Callable[[int], Order]] = {
    Action.ABANDON: lambda order_id: services.order_abandon(order_id=order_id, user=None),
    Action.DECLINE_ORDER: lambda order_id: services.order_decline_order(
        order_id=order_id, user=None
    ),
    Action.ACCEPT: lambda order_id: services.order_accept(order_id=order_id, user=None),
    Action.EXPIRE_CANCELLATION: lambda order_id: cancellation_expire(order_id=order_id),
}


def timer_fire(*, order_id: int) -> bool:
    """Take the timed action of the order's state, if its timer has run out; True if it did."""
    order = Order.objects.filter(pk=order_id).only("state").first()
    action = TIMER_ACTIONS.get(State(order.state)) if order else None
    if action is None:
        return False
    try:
        _FIRE[action](order_id)
    except HandoverError as exc:
        # Someone moved the order first (a race with a party), or the timer was reset.
        logger.info("timer on order %s skipped: %s", order_id, exc.detail)
        return False
    return True


def timers_run_due(*, now: datetime | None = None) -> dict[str, int]:
    """Fire every due timer and clear every due balance; each order in its own transaction."""
    now = now or timezone.now()
    fired = sum(timer_fire(order_id=order_id) for order_id in due_timer_ids(now))
    cleared = sum(
        1 for order_id in due_clearance_ids(now) if services.order_clear(order_id=order_id)
    )
    return {"fired": fired, "cleared": cleared}
