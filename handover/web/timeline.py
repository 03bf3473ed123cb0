"""The visual timeline: the disputes selector's items (``dispute_timeline``, as the API's
``GET /disputes/{id}/timeline`` returns them) grouped by day, each with a kind the page draws
with its own icon, colour and word, said in plain words ("Payment received", "Preview
ready"); a move's new state shows only as a badge. Pure functions, no database."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from handover.evidence.models import EventType
from handover.lib.money import format_amount
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
    Action.CHARGEBACK_WON: Look.PAYMENT,
    Action.CHARGEBACK_LOST: Look.PAYMENT,
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
    EventType.PAYMENT_FAILED: Look.PAYMENT,
    EventType.PAYMENT_RETURNED: Look.PAYMENT,
    EventType.FUNDS_CLEARED: Look.PAYMENT,
    EventType.PAYOUT_MADE: Look.PAYMENT,
    EventType.REFUND_SENT: Look.PAYMENT,
    EventType.REFUND_FAILED: Look.PAYMENT,
    EventType.REFUND_RETRIED: Look.PAYMENT,
    EventType.ORIGINAL_REFUSED: Look.DOWNLOAD,
    EventType.DELIVERY_RELEASED_EARLY: Look.DELIVERY,
    EventType.REVISION_GRANTED: Look.REQUEST,
    EventType.DISPUTE_ASSIGNED: Look.NOTE,
    EventType.CHARGEBACK_NOTE: Look.PAYMENT,  # the seller's side of the chargeback
    EventType.DISPUTE_CLOSED: Look.DECISION,
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
    actor: str  # the username, "Handover" for its own timers and worker, or the party
    role: str  # the party's role beside a username; empty for Handover and the provider
    summary: str  # what happened, in plain words
    data: dict[str, Any]
    badge: str = ""  # the state an order move led to (``State``), drawn as a badge


# Who acted where no user did: Handover's own timers and worker, the payment provider.
_NOBODY: dict[str, str] = {
    "timer": "Handover",
    "worker": "Handover",
    "system": "Handover",
    "provider": "The payment provider",
}

# A move of the order, said for its parties; {role} is who moved it ("the seller").
_MOVE_WORDS: dict[str, str] = {
    Action.PAY: "Payment received: the money is held in escrow",
    Action.ABANDON: "The unpaid order was cancelled",
    Action.ACCEPT_ORDER: "Accepted the order: the work starts",
    Action.DECLINE_ORDER: "Declined the order: the buyer is refunded in full",
    Action.ACCEPT: "Accepted the delivery: the order is complete",
    Action.REQUEST_REVISION: "Asked for a revision",
    Action.CANCEL_LATE: "Cancelled the late order: the buyer is refunded in full",
    Action.REQUEST_CANCELLATION: "Asked to cancel, with {refund} back to the buyer",
    Action.ACCEPT_CANCELLATION: "Agreed to cancel",
    Action.DECLINE_CANCELLATION: "Declined to cancel",
    Action.WITHDRAW_CANCELLATION: "Withdrew the request to cancel",
    Action.EXPIRE_CANCELLATION: "Nobody answered the request to cancel in time",
    Action.OPEN_DISPUTE: "Opened a dispute",
    Action.DECIDE: "Decided the dispute: {outcome}, {refund} back to the buyer",
    Action.CHARGEBACK: "The buyer's bank took the payment back: the order is on hold",
    Action.CHARGEBACK_WON: "The chargeback was decided for the seller: the money is back",
    Action.CHARGEBACK_LOST: "The chargeback was decided for the buyer: the payment is charged back",
}
# The same moves when Handover made them because a timer ran out.
_TIMER_WORDS: dict[str, str] = {
    Action.ABANDON: "The order was cancelled: it was not paid in time",
    Action.DECLINE_ORDER: (
        "The seller did not accept in time: the order is cancelled and the buyer refunded"
    ),
    Action.ACCEPT: "The order completed on its own (auto-complete)",
}
_EVENT_WORDS: dict[str, str] = {
    EventType.ORDER_PLACED: "Placed the order",
    EventType.ANSWERS_UPDATED: "Changed the answers to the requirements",
    EventType.PAYMENT_STARTED: "Started the payment",
    EventType.PAYMENT_FAILED: "The payment did not go through",
    EventType.PAYMENT_RETURNED: "The payment arrived after the order was cancelled: returned",
    EventType.MESSAGE_POSTED: "Wrote a message",
    EventType.DELIVERY_RELEASED_EARLY: "Released a delivery's originals early",
    EventType.ORIGINAL_DOWNLOADED: "Downloaded the original of {file}",
    EventType.ORIGINAL_REFUSED: "Asked for the original of {file}, not released yet",
    EventType.PREVIEW_MADE: "Preview ready: {file}",
    EventType.PREVIEW_FAILED: "No preview could be made of {file}",
    EventType.PREVIEW_VIEWED: "Viewed the preview of {file}",
    EventType.SUPPORT_NOTE: "Added an internal note",
    EventType.REVIEW_SUBMITTED: "Reviewed the order",
    EventType.REPORT_FILED: "Reported the other party to support",
    EventType.AUTO_COMPLETE_CHANGED: "Turned auto-complete {switch}",
    EventType.REVISION_GRANTED: "Granted one more revision",
    EventType.FUNDS_CLEARED: "The seller's earnings cleared: they can be paid out",
    EventType.PAYOUT_MADE: "Paid out",
    EventType.REFUND_SENT: "The refund of {amount} to the buyer was sent",
    EventType.REFUND_FAILED: "The refund of {amount} is delayed: support is on it",
    EventType.REFUND_RETRIED: "Tried the delayed refund of {amount} again",
    EventType.CHARGEBACK_NOTE: "Wrote a note for the buyer's bank",
    EventType.DISPUTE_CLOSED: "The dispute was closed without a decision",
}
# A refund the buyer's bank sent back after it had gone out (``refund.failed`` with "returned").
_REFUND_RETURNED_WORDS = "The refund of {amount} came back from the buyer's bank: support is on it"
# The words an event carries, quoted after what it means.
_EVENT_TEXTS: dict[str, str] = {
    EventType.PAYMENT_FAILED: "reason",
    EventType.CHARGEBACK_NOTE: "note",
    EventType.DISPUTE_CLOSED: "reason",
}


def _quoted(text: Any, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return f"“{line if len(line) <= limit else line[: limit - 1] + '…'}”"


def _money(amount: Any, currency: str) -> str:
    return format_amount(amount, currency) if isinstance(amount, int) else "part of the total"


def _move_words(payload: dict[str, Any], role: str, currency: str) -> str:
    action = str(payload.get("action", ""))
    words = (_TIMER_WORDS if role == "timer" else {}).get(action) or _MOVE_WORDS.get(
        action, "The order moved on"
    )
    words = words.format(
        refund=_money(payload.get("refunded", payload.get("refund")), currency),
        outcome={"release": "released to the seller", "refund": "refunded", "split": "split"}.get(
            str(payload.get("outcome")), "decided"
        ),
    )
    # What the one who moved it wrote: support's rationale is the move's ``text``.
    text = (
        payload.get("text")
        or payload.get("rationale")
        or payload.get("reason")
        or payload.get("message")
    )
    return f"{words}: {_quoted(text)}" if isinstance(text, str) and text.strip() else words


def _delivery_words(data: dict[str, Any]) -> str:
    files = data.get("files") or []
    names = ", ".join(str(f.get("name", "")) for f in files[:5]) + (", …" if len(files) > 5 else "")
    words = f"Delivered {len(files)} file{'' if len(files) == 1 else 's'}"
    words += f" ({names})" if names else ""
    ticked = len(data.get("checklist") or [])
    if ticked:
        words += f", answering {ticked} requirement{'' if ticked == 1 else 's'}"
    message = data.get("message")
    return f"{words}: {_quoted(message)}" if isinstance(message, str) and message.strip() else words


def plain_words(kind: str, data: dict[str, Any], role: str, currency: str) -> str:
    """What one timeline item (``kind``, ``data`` and ``role`` as the selector gives them)
    says happened, for the order's parties: no state names, no internal roles."""
    if kind == "delivery":
        return _delivery_words(data)
    if kind == "message":
        return _quoted(data.get("body", ""))
    if kind == "note":
        return f"Internal note: {_quoted(data.get('text', ''))}"
    payload = data.get("payload") or {}
    event_type = data.get("type", "")
    if event_type == EventType.ORDER_TRANSITION:
        return _move_words(payload, role, currency)
    words = _EVENT_WORDS.get(event_type, "Something happened on the order")
    if event_type == EventType.REFUND_FAILED and payload.get("returned"):
        words = _REFUND_RETURNED_WORDS
    words = words.format(
        file=data.get("file") or "a file",
        switch="on" if payload.get("enabled") else "off",
        amount=_money(payload.get("amount"), currency),
    )
    repeats = payload.get("repeats")
    if event_type == EventType.PREVIEW_VIEWED and isinstance(repeats, int) and repeats:
        words += f", and {repeats} more time{'' if repeats == 1 else 's'}"
    text = payload.get(_EVENT_TEXTS.get(event_type, ""))
    if isinstance(text, str) and text.strip():
        words += f": {_quoted(text)}"
    return words


@dataclass(frozen=True)
class Day:
    day: date
    entries: list[Entry]


def _badge(kind: str, data: dict[str, Any]) -> str:
    if kind == "delivery":
        return "delivered"  # a delivery's item stands for its move too (the selector's)
    if kind == "event" and data.get("type") == EventType.ORDER_TRANSITION:
        return str((data.get("payload") or {}).get("to") or "")
    return ""


def timeline_days(items: Iterable[Any], tz: tzinfo, *, currency: str) -> list[Day]:
    """Items (each with ``at``, ``kind``, ``actor``, ``role``, ``data``) in time order,
    grouped by their day in ``tz``; amounts in ``currency``, the order's."""
    days: list[Day] = []
    for item in sorted(items, key=lambda item: item.at):
        look = item_look(item.kind, item.data)
        nobody = _NOBODY.get(item.role) if not item.actor else None
        entry = Entry(
            at=item.at,
            look=look,
            word=LOOK_WORDS[look],
            actor=item.actor or nobody or item.role or "Handover",
            role="" if nobody else item.role,
            summary=plain_words(item.kind, item.data, item.role, currency),
            data=item.data,
            badge=_badge(item.kind, item.data),
        )
        day = item.at.astimezone(tz).date()
        if days and days[-1].day == day:
            days[-1].entries.append(entry)
        else:
            days.append(Day(day, [entry]))
    return days
