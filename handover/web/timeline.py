"""The visual timeline: the disputes selector's items (``dispute_timeline``, as the API's
``GET /disputes/{id}/timeline`` returns them) grouped by day, each with a kind the page draws
with its own icon, colour and word. Pure functions, no database."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from handover.evidence.models import EventType
from handover.orders.rules import Action


class Look(StrEnum):
    """How an item is drawn; each has an icon and a word, so colour is never the only cue."""

    DELIVERY = "delivery"
    DOWNLOAD = "download"
    VIEW = "view"
    REQUEST = "request"
    DECISION = "decision"
    MESSAGE = "message"
    PAYMENT = "payment"
    NOTE = "note"
    OTHER = "other"


LOOK_WORDS: dict[Look, str] = {
    Look.DELIVERY: "Delivery",
    Look.DOWNLOAD: "Download",
    Look.VIEW: "Preview viewed",
    Look.REQUEST: "Request",
    Look.DECISION: "Decision",
    Look.MESSAGE: "Message",
    Look.PAYMENT: "Payment",
    Look.NOTE: "Internal note",
    Look.OTHER: "Event",
}

# The selector's own kinds that already say how to draw them.
_KINDS: dict[str, Look] = {
    "delivery": Look.DELIVERY,
    "download": Look.DOWNLOAD,
    "preview": Look.VIEW,
    "message": Look.MESSAGE,
    "note": Look.NOTE,
}
_MOVES: dict[str, Look] = {
    Action.PAY: Look.PAYMENT,
    Action.CHARGEBACK: Look.PAYMENT,
    Action.REQUEST_REVISION: Look.REQUEST,
    Action.REQUEST_CANCELLATION: Look.REQUEST,
    Action.DECLINE_CANCELLATION: Look.REQUEST,
    Action.WITHDRAW_CANCELLATION: Look.REQUEST,
    Action.EXPIRE_CANCELLATION: Look.REQUEST,
    Action.OPEN_DISPUTE: Look.REQUEST,
    Action.CANCEL_LATE: Look.REQUEST,
    Action.ACCEPT: Look.DECISION,
    Action.ACCEPT_ORDER: Look.DECISION,
    Action.DECLINE_ORDER: Look.DECISION,
    Action.ACCEPT_CANCELLATION: Look.DECISION,
    Action.SETTLE_CANCELLATION: Look.DECISION,
    Action.ABANDON: Look.DECISION,
    Action.DECIDE: Look.DECISION,
}
_EVENTS: dict[str, Look] = {
    EventType.PAYMENT_STARTED: Look.PAYMENT,
    EventType.FUNDS_CLEARED: Look.PAYMENT,
    EventType.PAYOUT_MADE: Look.PAYMENT,
    EventType.ORIGINAL_REFUSED: Look.DOWNLOAD,
    EventType.DELIVERY_RELEASED_EARLY: Look.DELIVERY,
    EventType.REVISION_GRANTED: Look.REQUEST,
    EventType.DISPUTE_ASSIGNED: Look.NOTE,
}


def item_look(kind: str, data: dict[str, Any]) -> Look:
    """How to draw one timeline item (``kind`` and ``data`` as the selector gives them)."""
    if kind in _KINDS:
        return _KINDS[kind]
    event_type = data.get("type", "")
    if event_type == EventType.ORDER_TRANSITION:
        payload = data.get("payload") or {}
        return _MOVES.get(str(payload.get("action", "")), Look.OTHER)
    return _EVENTS.get(event_type, Look.OTHER)


@dataclass(frozen=True)
class Entry:
    at: datetime
    look: Look
    word: str
    actor: str  # the username, or who acted for nobody in particular (the timer, ...)
    role: str
    summary: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Day:
    day: date
    entries: list[Entry]


def timeline_days(items: Iterable[Any], tz: tzinfo) -> list[Day]:
    """Items (each with ``at``, ``kind``, ``actor``, ``role``, ``summary``, ``data``) in
    time order, grouped by their day in ``tz``."""
    days: list[Day] = []
    for item in sorted(items, key=lambda item: item.at):
        look = item_look(item.kind, item.data)
        entry = Entry(
            at=item.at,
            look=look,
            word=LOOK_WORDS[look],
            actor=item.actor or item.role or "system",
            role=item.role,
            summary=item.summary,
            data=item.data,
        )
        day = item.at.astimezone(tz).date()
        if days and days[-1].day == day:
            days[-1].entries.append(entry)
        else:
            days.append(Day(day, [entry]))
    return days
