from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.disputes.models import Dispute, Outcome, SupportNote
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.canonical import json_sha256
from handover.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handover.lib.text import text_check
from handover.orders.models import Order
from handover.orders.rules import Action, Actor, State
from handover.orders.services import decide_money, order_lock, order_move

MAX_RATIONALE = 20_000
MAX_NOTE = 20_000


def dispute_open_for(*, order: Order, user: User | None, actor: Actor, text: str) -> Dispute:
    """The dispute row of a move to ``disputed``; called by the order services only."""
    return Dispute.objects.create(
        order=order,
        opened_by=user,
        opened_by_role=actor,
        reason=text,
        opened_at=timezone.now(),
        state_before=order.state,
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
    return refund


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
    try:
        decision = Outcome(outcome)
    except ValueError:
        raise InvalidInput("The outcome is release, refund or split.", code="bad_outcome") from None
    if not text.strip():
        raise InvalidInput(
            "A decision needs a rationale: both parties are told why.", code="rationale_required"
        )
    text = text_check(text, field="rationale", limit=MAX_RATIONALE)
    order = order_lock(dispute.order_id)
    if _is_party(order, user):
        raise PermissionDenied("A dispute on your own order is decided by another agent.")
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
    event_append(
        order=order,
        type=EventType.SUPPORT_NOTE,
        actor=user,
        actor_role=Actor.SUPPORT,
        # The parties read the order's events: the note's hash goes on the record, not its text.
        payload={"dispute_id": dispute.pk, "note_id": note.pk, "text_sha256": json_sha256(text)},
    )
    return note
