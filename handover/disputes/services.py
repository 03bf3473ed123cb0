from typing import Any

from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.disputes.models import Dispute, Outcome, SupportNote
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.canonical import json_sha256
from handover.lib.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from handover.lib.money import amount_step_check
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.orders.cancellation import (
    close_request,
    order_expire_cancellation,
    originals_released,
)
from handover.orders.models import Order
from handover.orders.rules import Action, Actor, State
from handover.orders.services import (
    MAX_TEXT_LENGTH,
    decide_money,
    order_check,
    order_lock,
    order_move,
    role_of,
)
from handover.trust import services as trust
from handover.trust.models import PartyRole
from handover.trust.rules import DisputeResult

MAX_RATIONALE = 20_000
MAX_NOTE = 20_000
# Why a dispute closes without a decision when the bank decided a chargeback on its order.
CLOSED_BY_CHARGEBACK = "The bank decided the chargeback."
# What each outcome is for the (buyer, seller) on their trust records.
RESULTS = {
    Outcome.RELEASE: (DisputeResult.LOST, DisputeResult.WON),
    Outcome.REFUND: (DisputeResult.WON, DisputeResult.LOST),
    Outcome.SPLIT: (DisputeResult.SPLIT, DisputeResult.SPLIT),
}


@transaction.atomic
def dispute_open(
    *,
    order_id: int,
    user: User,
    text: str,
    for_party: Actor | None = None,
    rationale: str = "",
) -> Order:
    """Either party asks support to decide (after completion only the buyer, until clearance);
    returns the order, now disputed. Support opens one for a party (``for_party``), with
    ``text`` the party's reason and ``rationale`` why support opens it; the record says that
    support acted, for whom and why."""
    order = order_lock(order_id)
    text = text_check(text, field="reason", limit=MAX_TEXT_LENGTH)
    actor = role_of(order, user)
    payload: dict[str, Any] = {"reason": text}
    if actor == Actor.SUPPORT or for_party is not None:
        party = _party_check(order, actor, for_party)
        rationale = text_check(rationale, field="rationale", limit=MAX_TEXT_LENGTH)
        payload.update({"on_behalf_of": party.value, "text": rationale})
    _open(order, Action.OPEN_DISPUTE, actor=actor, user=user, text=text, payload=payload)
    return order


def _party_check(order: Order, actor: Actor, party: Actor | None) -> Actor:
    """The party support opens a dispute for, if that party may open one now itself."""
    if actor != Actor.SUPPORT:
        raise TransitionNotAllowed("Only support opens a dispute on another's behalf.")
    if party is None:  # support has no dispute of its own to open
        raise TransitionNotAllowed("Support opens a dispute for a party: say which.")
    if party not in (Actor.BUYER, Actor.SELLER):
        raise InvalidInput("Say which party the dispute is opened for.", code="bad_party")
    # The party's own right first: the table lets support in wherever a party may open one.
    order_check(order=order, action=Action.OPEN_DISPUTE, actor=party, target=State.DISPUTED)
    return party


@transaction.atomic
def cancellation_expire(*, order_id: int) -> Order:
    """The timer's answer to a cancellation request left unanswered: cancel, unless the buyer
    holds originals, then a dispute opens and support decides."""
    order = order_lock(order_id)
    if order.state != State.CANCELLATION_REQUESTED or not originals_released(order):
        return order_expire_cancellation(order_id=order_id)
    text = "The cancellation request was not answered in time; originals had been released."
    _open(order, Action.EXPIRE_CANCELLATION, actor=Actor.TIMER, user=None, text=text, payload={})
    return order


def _open(
    order: Order,
    action: Action,
    *,
    actor: Actor,
    user: User | None,
    text: str,
    payload: dict[str, Any],
) -> None:
    """The move to ``disputed`` and its dispute row, checked before the row is written."""
    order_check(order=order, action=action, actor=actor, target=State.DISPUTED)
    party = payload.get("on_behalf_of", "")
    dispute = Dispute.objects.create(
        order=order,
        opened_by=user,
        opened_by_role=actor,
        opened_for=party,
        reason=text,
        opened_at=timezone.now(),
        state_before=order.state,
    )
    if party:  # the party asked support to open it: it counts as theirs
        party_id = order.buyer_id if party == Actor.BUYER else order.seller_id
        trust.record_dispute_opened(user_id=party_id, role=PartyRole(party))
    elif user is not None:  # the cancellation timer's disputes go on nobody's record
        trust.record_dispute_opened(user_id=user.pk, role=PartyRole(actor.value))
    order_move(
        order=order,
        action=action,
        actor=actor,
        user=user,
        target=State.DISPUTED,
        payload={**payload, "dispute_id": dispute.pk},
        changes=close_request,
    )


def decision_refund(order: Order, outcome: Outcome, refund: int | None) -> int:
    """What the buyer gets back in all under this decision; InvalidInput for a refund that
    does not fit the outcome (so a form can show the service's own refusal)."""
    if outcome == Outcome.RELEASE:
        if refund not in (None, 0):
            raise InvalidInput("A release refunds nothing; use split.", code="bad_refund")
        return order.refunded
    if outcome == Outcome.REFUND:
        if refund not in (None, order.total):
            raise InvalidInput("A refund returns the whole total; use split.", code="bad_refund")
        return order.total
    if refund is None or not order.refunded < refund < order.total:
        raise InvalidInput(
            f"A split needs a refund above {order.refunded} and below the total of {order.total}.",
            code="bad_refund",
        )
    amount_step_check(refund, order.currency)
    return refund


def decision_refusal(order: Order) -> str | None:
    """Why support cannot decide the order's dispute now, or None."""
    if order.state == State.CHARGEBACK_HOLD:
        return (
            "The buyer's bank took the payment back: the money is with the bank until it "
            "decides the chargeback, so this dispute cannot be decided now. If the bank decides "
            "for the seller, the dispute carries on; if for the buyer, it closes."
        )
    return None


@transaction.atomic
def dispute_decide(
    *, dispute_id: int, user: User, outcome: str, refund: int | None, text: str
) -> Dispute:
    """Support decides a dispute: release, refund or split; the order and the money move."""
    if not user.is_support:
        raise PermissionDenied("Only support decides disputes.")
    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound("No such dispute.")
    decision = Outcome(outcome) if outcome in RESULTS else None
    if decision is None:
        raise InvalidInput("The outcome is release, refund or split.", code="bad_outcome")
    if not text.strip():
        raise InvalidInput(
            "A decision needs a rationale: both parties are told why.", code="rationale_required"
        )
    text = text_check(text, field="rationale", limit=MAX_RATIONALE)
    order = order_lock(dispute.order_id)
    if _is_party(order, user):
        raise PermissionDenied("A dispute on your own order is decided by another agent.")
    if refusal := decision_refusal(order):
        raise TransitionNotAllowed(refusal)
    # Re-read under the order's lock: a concurrent decision may have closed it.
    dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
    if dispute.decided_at is not None:
        raise Conflict("This dispute is decided already.", code="already_decided")
    amount = decision_refund(order, decision, refund)
    target = State.CANCELLED if amount == order.total else State.COMPLETED
    money = decide_money(order, refund=amount)
    dispute.decided_at = timezone.now()
    dispute.decided_by = user
    dispute.outcome = decision
    dispute.refund = amount
    dispute.rationale = text
    dispute.save()
    order_move(
        order=order,
        action=Action.DECIDE,
        actor=Actor.SUPPORT,
        user=user,
        target=target,
        # The parties are told from this event: the outcome, the money and the why.
        payload={
            "dispute_id": dispute.pk,
            "outcome": decision.value,
            "rationale": text,
            "refunded": amount,
            "total": order.total,
            **money,
        },
    )
    buyer, seller = RESULTS[decision]
    trust.record_dispute_decided(
        buyer_id=order.buyer_id, seller_id=order.seller_id, buyer=buyer, seller=seller
    )
    return dispute


@transaction.atomic
def dispute_close_for_chargeback(*, order_id: int) -> Dispute | None:
    """The bank decided a chargeback for the buyer while the order was in a dispute: the
    dispute closes without a decision (nothing is left for support to decide) and no money
    moves, the chargeback took it back already. The open dispute, now closed, or None."""
    order = order_lock(order_id)
    open_ones = Dispute.objects.select_for_update().filter(order=order, decided_at__isnull=True)
    dispute = open_ones.first()
    if dispute is None:
        return None
    if order.state != State.CHARGED_BACK:
        raise TransitionNotAllowed("Only a chargeback the bank decided closes a dispute.")
    dispute.decided_at = timezone.now()
    dispute.outcome = Outcome.CLOSED
    dispute.rationale = CLOSED_BY_CHARGEBACK
    dispute.save(update_fields=["decided_at", "outcome", "rationale"])
    event = event_append(
        order=order,
        type=EventType.DISPUTE_CLOSED,
        actor=None,
        # Handover closes it on the provider's word, as the chargeback's own moves are.
        actor_role=Actor.PROVIDER,
        payload={
            "dispute_id": dispute.pk,
            "outcome": Outcome.CLOSED.value,
            "reason": dispute.rationale,
        },
    )
    notifications_for_event(event)
    return dispute


def _is_party(order: Order, user: User) -> bool:
    return user.pk in (order.buyer_id, order.seller_id)


@transaction.atomic
def support_note_add(*, dispute_id: int, user: User, text: str) -> SupportNote:
    """Support adds an internal note to a dispute; the parties never see its text."""
    dispute = Dispute.objects.select_related("order").filter(pk=dispute_id).first()
    if dispute is None or not (user.is_support or _is_party(dispute.order, user)):
        raise NotFound("No such dispute.")
    if _is_party(dispute.order, user):
        raise PermissionDenied("Notes are for support; parties write in the order's chat.")
    text = text_check(text, field="note", limit=MAX_NOTE)
    # Under the order's lock, so the note's event takes its place in the order's record
    # between the moves around it, as every other event of the order does.
    order = order_lock(dispute.order_id)
    note = SupportNote.objects.create(
        dispute=dispute, author=user, text=text, created_at=timezone.now()
    )
    event = event_append(
        order=order,
        type=EventType.SUPPORT_NOTE,
        actor=user,
        actor_role=Actor.SUPPORT,
        # The parties read the order's events: the note's hash goes on the record, not its text.
        payload={"dispute_id": dispute.pk, "note_id": note.pk, "text_sha256": json_sha256(text)},
    )
    notifications_for_event(event)
    return note


@transaction.atomic
def dispute_assign(*, dispute_id: int, user: User) -> Dispute:
    """An agent takes an open dispute ("assign to me"), from whoever had it; on the record."""
    if not user.is_support:
        raise PermissionDenied("Only support works disputes.")
    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound("No such dispute.")
    # Under the order's lock, as every event of the order; then the dispute read again,
    # so that two agents taking it at once are recorded one after the other.
    order = order_lock(dispute.order_id)
    if _is_party(order, user):
        raise PermissionDenied("A dispute on your own order is worked by another agent.")
    dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
    if dispute.decided_at is not None:
        raise Conflict("This dispute is decided already.", code="already_decided")
    if dispute.assigned_to_id == user.pk:
        return dispute
    previous = dispute.assigned_to_id
    dispute.assigned_to = user
    dispute.assigned_at = timezone.now()
    dispute.save(update_fields=["assigned_to", "assigned_at"])
    event = event_append(
        order=order,
        type=EventType.DISPUTE_ASSIGNED,
        actor=user,
        actor_role=Actor.SUPPORT,
        payload={"dispute_id": dispute.pk, "agent_id": user.pk, "previous_agent_id": previous},
    )
    notifications_for_event(event)
    return dispute
