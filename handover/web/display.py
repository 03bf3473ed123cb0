"""How the pages word an order: state names and timers. Pure functions, no database."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from handover.delivery.models import PreviewState
from handover.orders.models import Order
from handover.orders.rules import Action, PreviewHold, State
from handover.orders.selectors import timer_action

STATE_LABELS: dict[str, str] = {
    State.PENDING_PAYMENT: "Awaiting payment",
    State.AWAITING_ACCEPTANCE: "Waiting for the seller",
    State.IN_PROGRESS: "In progress",
    State.DELIVERED: "Delivered",
    State.REVISION_REQUESTED: "Revision requested",
    State.CANCELLATION_REQUESTED: "Cancellation requested",
    State.DISPUTED: "In dispute",
    State.COMPLETED: "Completed",
    State.CANCELLED: "Cancelled",
    State.CHARGEBACK_HOLD: "On hold: chargeback",
    State.CHARGED_BACK: "Charged back",
}

PREVIEW_LABELS: dict[str, str] = {
    PreviewState.PENDING: "Preview being made",
    PreviewState.READY: "Preview ready",
    PreviewState.FAILED: "No preview could be made",
    PreviewState.NONE: "No preview for this kind of file",
}

# What the worker does when an order's timer runs out, as a sentence around the time left.
_TIMER_SENTENCES: dict[str, str] = {
    Action.ABANDON: "Cancelled unless paid within {left}",
    Action.DECLINE_ORDER: "Cancelled with a full refund unless the seller accepts within {left}",
    Action.ACCEPT: "Auto-completes in {left}",
    Action.EXPIRE_CANCELLATION: "If nobody answers the request, it is settled in {left}",
}

_HOLD_SENTENCES: dict[str, str] = {
    PreviewHold.PENDING: (
        "Auto-complete waits until every preview is ready; the buyer then has the whole "
        "auto-complete time to look at them"
    ),
    PreviewHold.FAILED: (
        "Auto-complete is held: a preview could not be made. The order completes when the "
        "buyer accepts, or once the seller releases the originals"
    ),
}

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def countdown(left: timedelta) -> str:
    """A duration as people say it: its two largest units, rounded down ("2 days 4 hours")."""
    seconds = max(int(left.total_seconds()), 0)
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        elif parts:
            break  # "2 days 30 minutes" would read as more precise than it is
    return " ".join(parts[:2]) or "less than a minute"


@dataclass(frozen=True)
class Timer:
    text: str
    at: datetime | None = None


def order_timers(order: Order, now: datetime) -> list[Timer]:
    """The clocks running on ``order``, worded for its parties."""
    timers = []
    action = timer_action(order)
    held = order.state == State.DELIVERED and order.preview_hold
    if held:
        timers.append(Timer(_HOLD_SENTENCES[order.preview_hold]))
    elif action is not None and order.timer_at is not None:
        text = _TIMER_SENTENCES[action].format(left=countdown(order.timer_at - now))
        timers.append(Timer(text, order.timer_at))
    if order.state == State.IN_PROGRESS and order.due_at is not None:
        if order.due_at > now:
            timers.append(Timer(f"Delivery due in {countdown(order.due_at - now)}", order.due_at))
        else:
            timers.append(Timer(f"Delivery late by {countdown(now - order.due_at)}", order.due_at))
    if order.state == State.DELIVERED and not order.auto_complete:
        timers.append(Timer("Auto-complete is off: the order completes when the buyer accepts"))
    if (
        order.state == State.CANCELLATION_REQUESTED
        and order.return_state == State.DELIVERED
        and order.auto_complete
        and order.paused_remaining is not None
    ):
        # Declining or withdrawing the request resumes the clock where it stopped.
        left = countdown(order.paused_remaining)
        timers.append(Timer(f"Auto-complete is paused with {left} left while the request is open"))
    return timers
