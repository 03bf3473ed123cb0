"""The order lifecycle: states, actions, the transition table and the rules around it.

Pure functions only; ``services.order_move`` is the one place that applies them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.db import models

# The roles are the event record's (an event's actor_role); the transition table names them.
from handover.evidence.models import Actor
from handover.trust.rules import REVIEW_WINDOW, Asker, Cancellations, RoleRecord, review_window_ends


class State(models.TextChoices):
    PENDING_PAYMENT = "pending_payment"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    REVISION_REQUESTED = "revision_requested"
    CANCELLATION_REQUESTED = "cancellation_requested"
    DISPUTED = "disputed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    CHARGEBACK_HOLD = "chargeback_hold"
    CHARGED_BACK = "charged_back"


class Action(models.TextChoices):
    PAY = "pay"
    ABANDON = "abandon"
    ACCEPT_ORDER = "accept_order"
    DECLINE_ORDER = "decline_order"
    DELIVER = "deliver"
    ACCEPT = "accept"
    REQUEST_REVISION = "request_revision"
    CANCEL_LATE = "cancel_late"
    REQUEST_CANCELLATION = "request_cancellation"
    ACCEPT_CANCELLATION = "accept_cancellation"
    DECLINE_CANCELLATION = "decline_cancellation"
    WITHDRAW_CANCELLATION = "withdraw_cancellation"
    EXPIRE_CANCELLATION = "expire_cancellation"
    SETTLE_CANCELLATION = "settle_cancellation"
    OPEN_DISPUTE = "open_dispute"
    DECIDE = "decide"
    CHARGEBACK = "chargeback"
    CHARGEBACK_WON = "chargeback_won"
    CHARGEBACK_LOST = "chargeback_lost"


class PreviewHold(models.TextChoices):
    """Why auto-complete waits although the order is delivered: the buyer has not been shown
    every preview of the latest delivery (and the seller did not release its originals)."""

    NONE = "", "none"
    PENDING = "pending", "previews are still being made"
    FAILED = "failed", "a preview could not be made"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[State]
    actors: frozenset[Actor]
    targets: frozenset[State]


def _t(sources, actors, targets) -> Transition:
    return Transition(frozenset(sources), frozenset(actors), frozenset(targets))


S, A = State, Actor
WORKING = (S.IN_PROGRESS, S.REVISION_REQUESTED, S.DELIVERED)
# Paid states a card payment can be disputed from (and returned to when the seller wins).
PAID = (S.AWAITING_ACCEPTANCE, *WORKING, S.CANCELLATION_REQUESTED, S.DISPUTED, S.COMPLETED)
# The bank may take back a payment from any paid order, and from a cancelled one that kept
# part of it (cancelled at a partial refund): the guard refuses one that kept nothing.
CHARGEABLE = (*PAID, S.CANCELLED)

# DESIGN.md section 2, one row per action.
TRANSITIONS: dict[Action, Transition] = {
    Action.PAY: _t([S.PENDING_PAYMENT], [A.PROVIDER], [S.AWAITING_ACCEPTANCE, S.IN_PROGRESS]),
    Action.ABANDON: _t([S.PENDING_PAYMENT], [A.BUYER, A.TIMER], [S.CANCELLED]),
    Action.ACCEPT_ORDER: _t([S.AWAITING_ACCEPTANCE], [A.SELLER], [S.IN_PROGRESS]),
    Action.DECLINE_ORDER: _t([S.AWAITING_ACCEPTANCE], [A.SELLER, A.TIMER], [S.CANCELLED]),
    # From delivered too: a file the seller forgot, added while the buyer has not accepted yet
    # (the auto-complete timer starts again from it: ``services.order_move``).
    Action.DELIVER: _t(
        [S.IN_PROGRESS, S.REVISION_REQUESTED, S.DELIVERED], [A.SELLER], [S.DELIVERED]
    ),
    Action.ACCEPT: _t([S.DELIVERED], [A.BUYER, A.TIMER], [S.COMPLETED]),
    Action.REQUEST_REVISION: _t([S.DELIVERED], [A.BUYER], [S.REVISION_REQUESTED]),
    Action.CANCEL_LATE: _t([S.IN_PROGRESS], [A.BUYER], [S.CANCELLED]),
    Action.REQUEST_CANCELLATION: _t(WORKING, [A.BUYER, A.SELLER], [S.CANCELLATION_REQUESTED]),
    Action.ACCEPT_CANCELLATION: _t([S.CANCELLATION_REQUESTED], [A.BUYER, A.SELLER], [S.CANCELLED]),
    Action.DECLINE_CANCELLATION: _t([S.CANCELLATION_REQUESTED], [A.BUYER, A.SELLER], WORKING),
    Action.WITHDRAW_CANCELLATION: _t([S.CANCELLATION_REQUESTED], [A.BUYER, A.SELLER], WORKING),
    Action.EXPIRE_CANCELLATION: _t(
        [S.CANCELLATION_REQUESTED], [A.TIMER], [S.CANCELLED, S.DISPUTED]
    ),
    # Support settles a request either way, with a rationale: cancelled at the refund asked,
    # or back to the remembered state.
    Action.SETTLE_CANCELLATION: _t(
        [S.CANCELLATION_REQUESTED], [A.SUPPORT], [S.CANCELLED, *WORKING]
    ),
    # Support opens one on a party's behalf (``disputes.services.dispute_open`` checks the
    # party's own right to it first).
    Action.OPEN_DISPUTE: _t(
        [*WORKING, S.CANCELLATION_REQUESTED, S.COMPLETED],
        [A.BUYER, A.SELLER, A.SUPPORT],
        [S.DISPUTED],
    ),
    Action.DECIDE: _t([S.DISPUTED], [A.SUPPORT], [S.COMPLETED, S.CANCELLED]),
    # The buyer's bank took the payment back: the order waits on the bank's decision, money
    # clawed back and originals locked, remembering where it was (``chargeback_return_state``).
    Action.CHARGEBACK: _t(CHARGEABLE, [A.PROVIDER], [S.CHARGEBACK_HOLD]),
    Action.CHARGEBACK_WON: _t([S.CHARGEBACK_HOLD], [A.PROVIDER], CHARGEABLE),
    Action.CHARGEBACK_LOST: _t([S.CHARGEBACK_HOLD], [A.PROVIDER], [S.CHARGED_BACK]),
}

# States in which the order's escrow must be empty.
CLOSED = frozenset({S.COMPLETED, S.CANCELLED, S.CHARGED_BACK})
# States in which the buyer may not take an original, whatever was released before.
ORIGINALS_LOCKED = frozenset({S.CANCELLED, S.CHARGEBACK_HOLD, S.CHARGED_BACK})
# States in which the seller can no longer release a delivery early: closed, or the bank is
# deciding a chargeback.
RELEASE_ENDED = frozenset({*CLOSED, S.CHARGEBACK_HOLD})


class Setting(models.TextChoices):
    """What a party changes on an order without moving it."""

    GRANT_REVISION = "grant_revision", "Granting a revision"
    AUTO_COMPLETE = "auto_complete", "Setting auto-completion"


@dataclass(frozen=True)
class SettingRule:
    states: frozenset[State]
    actor: Actor
    doing: str  # what the actor does, in words


# Each setting, in the states where it can still matter: a granted revision while a revision
# can yet be asked for (not before the seller has taken the order on, not once support
# decides), the auto-complete switch once paid and while a delivery may yet complete alone.
SETTINGS: dict[Setting, SettingRule] = {
    Setting.GRANT_REVISION: SettingRule(
        frozenset({*WORKING, S.CANCELLATION_REQUESTED}), A.SELLER, "grants a revision"
    ),
    Setting.AUTO_COMPLETE: SettingRule(
        frozenset({S.AWAITING_ACCEPTANCE, *WORKING, S.CANCELLATION_REQUESTED}),
        A.BUYER,
        "sets auto-completion",
    ),
}


def setting_refusal(setting: Setting, state: State, actor: Actor) -> str | None:
    """Why ``actor`` may not change ``setting`` on an order in ``state``, or None."""
    rule = SETTINGS[setting]
    if actor != rule.actor:
        return f"Only the {rule.actor} {rule.doing}, on an open order."
    if state not in rule.states:
        return f"{Setting(setting).label} is not possible while the order is {state}."
    return None


# The action the worker takes when an order's timer runs out, by state.
TIMER_ACTIONS: dict[State, Action] = {
    S.PENDING_PAYMENT: Action.ABANDON,
    S.AWAITING_ACCEPTANCE: Action.DECLINE_ORDER,
    S.DELIVERED: Action.ACCEPT,
    S.CANCELLATION_REQUESTED: Action.EXPIRE_CANCELLATION,
}


@dataclass(frozen=True)
class OrderFacts:
    """What the rules need to know about an order, read under its row lock."""

    state: State
    now: datetime
    due_at: datetime | None = None
    deliveries: int = 0
    revisions_left: int = 0
    cancellation_requested_by: Actor | None = None
    timer_at: datetime | None = None
    clears_at: datetime | None = None
    cleared: bool = False
    disputed_before: bool = False
    preview_hold: str = PreviewHold.NONE
    charged_back_before: bool = False  # a chargeback was won already: a payment is disputed once
    kept: int = 0  # what the order kept of the buyer's payment (paid, less refunds)


def refusal(facts: OrderFacts, action: Action, actor: Actor, target: State) -> str | None:
    """Why this move is not allowed, or None when the table and its guards allow it."""
    rule = TRANSITIONS[action]
    if facts.state not in rule.sources:
        return f"{action} is not possible while the order is {facts.state}"
    if actor not in rule.actors:
        return f"the {actor} cannot {action} this order"
    if target not in rule.targets:
        return f"{action} cannot lead to {target}"
    return _guard(facts, action, actor)


def _guard(f: OrderFacts, action: Action, actor: Actor) -> str | None:
    if actor == Actor.TIMER and (f.timer_at is None or f.timer_at > f.now):
        return "the order's timer has not run out"
    if actor == Actor.TIMER and action == Action.ACCEPT and f.preview_hold:
        # The buyer is never taken to have accepted work they were not shown.
        return f"auto-complete waits: {PreviewHold(f.preview_hold).label}"
    if action == Action.CANCEL_LATE:
        if f.deliveries or f.due_at is None or f.now <= f.due_at:
            return "the order is not late: it is within its delivery time or was delivered"
    elif action == Action.REQUEST_REVISION and f.revisions_left <= 0:
        return "no revisions are left; the seller may grant another"
    elif action in (Action.ACCEPT_CANCELLATION, Action.DECLINE_CANCELLATION):
        if actor == f.cancellation_requested_by:
            return "the other party answers a cancellation request"
    elif action == Action.WITHDRAW_CANCELLATION and actor != f.cancellation_requested_by:
        return "only the party who asked can withdraw a cancellation request"
    elif action == Action.OPEN_DISPUTE and f.state == State.COMPLETED:
        return _completed_dispute_refusal(f, actor)
    elif action == Action.CHARGEBACK and f.charged_back_before:
        return "this order's payment was charged back once already"
    elif action == Action.CHARGEBACK and f.state == State.CANCELLED and f.kept <= 0:
        return "the order kept nothing of the payment to take back"
    return None


def _completed_dispute_refusal(f: OrderFacts, actor: Actor) -> str | None:
    # Support acts for the buyer here: dispute_open has checked the seller out already.
    if actor not in (Actor.BUYER, Actor.SUPPORT):
        return "after completion only the buyer can open a dispute"
    if f.cleared or f.clears_at is None or f.now >= f.clears_at:
        return "the clearance window for disputes has ended"
    if f.disputed_before:
        return "this order has had a dispute decided already"
    return None


@dataclass(frozen=True)
class Windows:
    payment: timedelta
    acceptance: timedelta
    auto_complete: timedelta
    cancellation: timedelta


def timer_for(
    state: State,
    *,
    now: datetime,
    windows: Windows,
    auto_complete: bool,
    paused_remaining: timedelta | None = None,
) -> datetime | None:
    """When the worker acts on an order that has just entered ``state``."""
    if state == State.PENDING_PAYMENT:
        return now + windows.payment
    if state == State.AWAITING_ACCEPTANCE:
        return now + windows.acceptance
    if state == State.CANCELLATION_REQUESTED:
        return now + windows.cancellation
    if state == State.DELIVERED and auto_complete:
        return now + (paused_remaining if paused_remaining is not None else windows.auto_complete)
    return None


def refund_bounds_error(refund: int, total: int) -> str | None:
    if not 0 <= refund <= total:
        return f"the refund must be between 0 and the order's total of {total}"
    return None


# --- what an order tells its parties' trust records ------------------------------------------

# An order can be reviewed once it has closed, money settled: completed, cancelled (by
# anyone, for any reason) or charged back. An order that never started (never paid, or
# declined by the seller) has nothing to review, and a seller who declines a risky buyer
# must not collect a review for it.
REVIEWABLE = CLOSED


def review_refusal(
    *, state: State, taken_on: bool, closed_at: datetime | None, now: datetime
) -> str | None:
    """Why a party may not review this order now, or None.

    ``taken_on``: the order was paid and the seller took it on (it reached in_progress).
    """
    if state not in REVIEWABLE or closed_at is None:
        return "An order can be reviewed once it is completed or cancelled."
    if not taken_on:
        return "An order that never started cannot be reviewed."
    if now >= review_window_ends(closed_at):
        return f"Reviews for this order closed {REVIEW_WINDOW.days} days after it ended."
    return None


@dataclass(frozen=True)
class CancelledOrder:
    """How one order came to be cancelled."""

    action: str  # the transition to cancelled
    actor_role: str  # who took it
    requester: str | None  # who had last asked to cancel, if anyone
    released: bool  # originals had been released to the buyer before (early, or completed)


def cancellation_asker(cancelled: CancelledOrder) -> Asker | None:
    """Who started the cancellation; None for an order that was never paid (abandoned)."""
    action = cancelled.action
    if action == Action.DECLINE_ORDER:
        return Asker.TIMER if cancelled.actor_role == Actor.TIMER else Asker.SELLER
    if action == Action.CANCEL_LATE:
        return Asker.BUYER
    if action in (
        Action.ACCEPT_CANCELLATION,
        Action.EXPIRE_CANCELLATION,
        Action.SETTLE_CANCELLATION,
    ):
        if cancelled.requester in (Asker.BUYER, Asker.SELLER):
            return Asker(cancelled.requester)
        return Asker.TIMER  # no request on record; order_move always records one
    if action == Action.DECIDE:
        return Asker.SUPPORT
    return None


def cancellations_count(rows: Iterable[tuple[CancelledOrder, int]]) -> Cancellations:
    """Sum (cancellation, how many orders) rows into the record's counts."""
    counts = dict.fromkeys((f.name for f in fields(Cancellations)), 0)
    for cancelled, n in rows:
        asker = cancellation_asker(cancelled)
        if asker is None:
            continue
        counts["total"] += n
        counts[f"by_{asker}"] += n
        counts["agreed"] += n if cancelled.action == Action.ACCEPT_CANCELLATION else 0
        if cancelled.released:
            counts["after_release"] += n
            counts["by_buyer_after_release"] += n if asker == Asker.BUYER else 0
    return Cancellations(**counts)


def ended_record(
    state: State, cancelled: CancelledOrder | None = None, *, party: Actor
) -> RoleRecord:
    """What a paid order resting in the closed ``state`` adds to one party's record (the
    buyer's as a buyer, the seller's as a seller); ``cancelled`` says how, for cancelled."""
    if state == State.COMPLETED:
        return RoleRecord(completed=1)
    if state == State.CHARGED_BACK:
        return RoleRecord(charged_back=1)
    if state == State.CANCELLED and cancelled is not None:
        if party == Actor.BUYER and cancelled.action == Action.DECLINE_ORDER:
            # The seller (or their acceptance window) turned the order down before it
            # started: a cancellation on the seller's record, nothing the buyer did.
            return RoleRecord()
        return RoleRecord(cancellations=cancellations_count([(cancelled, 1)]))
    # No move leaves cancelled (the table), so it is never taken back without its story.
    raise ValueError(f"no record for an order {state} without how it was cancelled")
