"""Who hears of each move of the lifecycle, and what the e-mail says. ``order_move`` hands the
move's notice to ``notifications_for_event`` with its event: the notifications app knows no
order actions. Pure: no database."""

import dataclasses
from collections.abc import Mapping
from typing import Any

from handover.lib.money import format_amount
from handover.notifications.models import Kind
from handover.notifications.rules import (
    Notice,
    Party,
    Who,
    other_party,
    quote,
    timer_also_tells,
    to,
    unless_acting,
)
from handover.orders.rules import Action, State


def transition_details(payload: Mapping[str, Any], currency: str) -> list[str]:
    action, target = payload.get("action"), payload.get("to")
    lines: list[str] = []
    if action == Action.PAY:
        lines.append(
            "The buyer's payment is held in escrow. "
            + (
                "Accept or decline the order."
                if target == State.AWAITING_ACCEPTANCE
                else "The work can start."
            )
        )
    elif action == Action.DELIVER and payload.get("from") == State.DELIVERED:
        lines.append(
            "The seller added a delivery (a file they had left out) before you accepted. "
            "Auto-complete starts again from this delivery."
        )
    elif action == Action.DELIVER:
        lines.append(
            "Review the delivery and its previews, then accept it or ask for a revision. "
            "The originals are yours once you accept."
        )
    elif action == Action.ACCEPT:
        lines.append("The originals are released to the buyer; the seller's earnings are pending.")
    elif action == Action.EXPIRE_CANCELLATION:
        lines.append(
            "Support will decide, as originals had been released."
            if target == State.DISPUTED
            else "The order is cancelled as proposed."
        )
    elif action == Action.DECIDE:
        lines.append(f"Outcome: {payload.get('outcome', '')}")
    elif action == Action.CHARGEBACK:
        lines.append(
            "The buyer's bank took the payment back. The order is on hold and the seller's "
            "earnings on it are taken back while the bank decides; the originals are locked. "
            "Handover answers the bank with the order's record; the seller may add a note "
            "on the order's page."
        )
    elif action == Action.CHARGEBACK_WON:
        lines.append("The money is back where it was, and the order goes on where it was.")
    elif action == Action.CHARGEBACK_LOST:
        lines.append("The payment stays with the buyer; the originals stay locked.")
    elif action == Action.SETTLE_CANCELLATION:
        lines.append(
            "Support accepted the request: the order is cancelled as proposed."
            if target == State.CANCELLED
            else "Support declined the request: the order goes on where it was."
        )
    # ``text``: support's rationale for a move it made for the parties or the provider.
    labels = (("reason", "Reason"), ("message", "Message"), ("rationale", "Rationale"))
    for key, label in (*labels, ("text", "Support's rationale")):
        if payload.get(key):
            lines.append(quote(label, payload[key]))
    if action == Action.REQUEST_CANCELLATION and "refund" in payload:
        lines.append(f"Proposed refund: {format_amount(payload['refund'], currency)}")
    elif isinstance(payload.get("refund"), int) and payload["refund"]:
        lines.append(f"Refunded to the buyer: {format_amount(payload['refund'], currency)}")
    return lines


def _notice(who: Who, subject: str, kind: Kind) -> Notice:
    return Notice(who, subject, transition_details, kind=kind)


TRANSITION_NOTICES: dict[Action, Notice] = {
    Action.PAY: _notice(to(Party.SELLER), "Order #{n} is paid", Kind.MONEY),
    Action.ABANDON: _notice(
        unless_acting(Party.BUYER), "Order #{n} was cancelled: it was not paid in time", Kind.ORDERS
    ),
    Action.ACCEPT_ORDER: _notice(to(Party.BUYER), "The seller accepted order #{n}", Kind.ORDERS),
    Action.DECLINE_ORDER: _notice(
        timer_also_tells(Party.SELLER, always=Party.BUYER),
        "Order #{n} was declined; the payment is refunded",
        Kind.MONEY,
    ),
    Action.DELIVER: _notice(to(Party.BUYER), "Order #{n} was delivered", Kind.ORDERS),
    Action.ACCEPT: _notice(
        timer_also_tells(Party.BUYER, always=Party.SELLER), "Order #{n} is completed", Kind.MONEY
    ),
    Action.REQUEST_REVISION: _notice(
        to(Party.SELLER), "A revision was requested on order #{n}", Kind.ORDERS
    ),
    Action.CANCEL_LATE: _notice(
        to(Party.SELLER), "Order #{n} was cancelled for late delivery", Kind.CANCELLATIONS
    ),
    Action.REQUEST_CANCELLATION: _notice(
        other_party, "Cancellation requested on order #{n}", Kind.CANCELLATIONS
    ),
    Action.ACCEPT_CANCELLATION: _notice(
        other_party, "Order #{n} was cancelled by agreement", Kind.CANCELLATIONS
    ),
    Action.DECLINE_CANCELLATION: _notice(
        other_party, "The cancellation request on order #{n} was declined", Kind.CANCELLATIONS
    ),
    Action.WITHDRAW_CANCELLATION: _notice(
        other_party, "The cancellation request on order #{n} was withdrawn", Kind.CANCELLATIONS
    ),
    Action.EXPIRE_CANCELLATION: _notice(
        to(Party.BUYER, Party.SELLER),
        "The cancellation request on order #{n} ran out",
        Kind.CANCELLATIONS,
    ),
    Action.SETTLE_CANCELLATION: _notice(
        to(Party.BUYER, Party.SELLER),
        "Support settled the cancellation request on order #{n}",
        Kind.CANCELLATIONS,
    ),
    Action.OPEN_DISPUTE: _notice(other_party, "A dispute was opened on order #{n}", Kind.DISPUTES),
    Action.DECIDE: _notice(
        to(Party.BUYER, Party.SELLER), "Support decided the dispute on order #{n}", Kind.DISPUTES
    ),
    Action.CHARGEBACK: _notice(
        to(Party.SELLER, Party.SUPPORT), "A chargeback was reported on order #{n}", Kind.MONEY
    ),
    Action.CHARGEBACK_WON: _notice(
        to(Party.BUYER, Party.SELLER, Party.SUPPORT),
        "The chargeback on order #{n} was decided for the seller",
        Kind.MONEY,
    ),
    Action.CHARGEBACK_LOST: _notice(
        to(Party.BUYER, Party.SELLER, Party.SUPPORT),
        "The chargeback on order #{n} was decided for the buyer",
        Kind.MONEY,
    ),
}


def transition_notice(action: Action, target: State) -> Notice:
    """Who hears of this move and what they read."""
    notice = TRANSITION_NOTICES[action]
    if target != State.DISPUTED:
        return notice
    told = notice.who
    # A dispute waits in support's queue.
    return dataclasses.replace(
        notice, who=lambda actor_role: told(actor_role) | {Party.SUPPORT}, kind=Kind.DISPUTES
    )
