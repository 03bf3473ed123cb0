"""Chargebacks from the provider: Stripe's dispute events put the order on hold and settle it,
and Handover answers the bank itself, before its deadline, with evidence from the order's
record (``billing.evidence``).

Each event is applied once (``webhooks``), and in any order: the dispute's row remembers what
was done (``held_at``, ``outcome``), so a ``charge.dispute.closed`` that arrives before its
``created`` puts the order on hold first and then settles it, and the late ``created`` finds
nothing left to do. Support records the same steps for the ``manual`` provider.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.billing.models import DisputeOutcome, ProviderDispute
from handover.disputes.services import dispute_close_for_chargeback
from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
from handover.lib.errors import Conflict, NotFound, TransitionNotAllowed
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.orders import chargebacks
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.orders.selectors import order_visible, viewer_role
from handover.orders.services import order_lock
from handover.payments.stripe_client import stripe_client

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 5000
# Stripe's statuses that close a dispute, and what each means for the seller.
CLOSED_OUTCOMES = {
    "won": DisputeOutcome.WON,
    "warning_closed": DisputeOutcome.WON,  # an inquiry closed without a chargeback
    "lost": DisputeOutcome.LOST,
}


def _moment(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if isinstance(timestamp, int) else None


def _id_of(value: Any) -> str:
    """An expandable field's id: the object's own when Stripe expanded it."""
    return str(value.get("id", "")) if isinstance(value, dict) else str(value or "")


def _order_for(dispute: dict[str, Any]) -> Order | None:
    """The order the disputed payment paid: its PaymentIntent is the order's payment
    reference (asked of Stripe through the charge when the event does not name it)."""
    intent = _id_of(dispute.get("payment_intent"))
    charge = _id_of(dispute.get("charge"))
    if not intent and charge:
        intent = _id_of(stripe_client().v1.charges.retrieve(charge).payment_intent)
    if not intent:
        return None
    return Order.objects.filter(payment_reference=intent).first()


def _dispute_row(dispute: dict[str, Any]) -> ProviderDispute | None:
    """The dispute's row, created on first sight and brought up to date, locked until the
    transaction ends (two events about one dispute apply one after the other)."""
    row = ProviderDispute.objects.select_for_update().filter(dispute_id=dispute["id"]).first()
    if row is None:
        order = _order_for(dispute)
        if order is None:
            logger.warning("Stripe dispute %s names no order of Handover's", dispute["id"])
            return None
        ProviderDispute.objects.get_or_create(
            dispute_id=dispute["id"],
            defaults={
                "order": order,
                "provider": "stripe",
                "amount": dispute.get("amount") or 0,
                "currency": str(dispute.get("currency", "")).upper(),
                "created_at": timezone.now(),
            },
        )
        row = ProviderDispute.objects.select_for_update().get(dispute_id=dispute["id"])
    details = dispute.get("evidence_details") or {}
    row.status = str(dispute.get("status", row.status))
    row.reason = str(dispute.get("reason") or row.reason)[:64]
    row.amount = dispute.get("amount") or row.amount
    row.due_by = _moment(details.get("due_by")) or row.due_by
    row.save(update_fields=["status", "reason", "amount", "due_by"])
    return row


def _hold(row: ProviderDispute, *, user: User | None = None, text: str = "") -> None:
    """Put the order on chargeback hold, once per dispute."""
    if row.held_at is not None:
        return
    try:
        chargebacks.order_chargeback(
            order_id=row.order_id, user=user, reference=row.dispute_id, text=text
        )
    except TransitionNotAllowed as refusal:
        if user is not None:
            raise
        # An order that was refused or refunded in full holds nothing to claw back: the
        # dispute stays on record for support (and for reconciliation).
        logger.warning("dispute %s: order %s not held: %s", row.dispute_id, row.order_id, refusal)
        return
    row.held_at = timezone.now()
    row.save(update_fields=["held_at"])


def _settle(
    row: ProviderDispute, outcome: DisputeOutcome, *, user: User | None = None, text: str = ""
) -> None:
    """Apply the bank's decision, once per dispute, to an order that was put on hold."""
    if row.outcome or row.held_at is None:
        return
    _decided(row.order_id, outcome, user=user, reference=row.dispute_id, text=text)
    row.outcome = outcome
    row.closed_at = timezone.now()
    row.save(update_fields=["outcome", "closed_at"])


def _decided(
    order_id: int, outcome: DisputeOutcome, *, user: User | None, reference: str, text: str
) -> Order:
    """The bank's decision applied to the order. A win returns it to where it was, an internal
    dispute carrying on; a loss ends it charged back and closes an internal dispute left open
    (the chargeback took the money back: nothing is left for support to decide)."""
    if outcome == DisputeOutcome.WON:
        return chargebacks.order_chargeback_won(
            order_id=order_id, user=user, reference=reference, text=text
        )
    order = chargebacks.order_chargeback_lost(
        order_id=order_id, user=user, reference=reference, text=text
    )
    dispute_close_for_chargeback(order_id=order_id)
    return order


def dispute_created(dispute: dict[str, Any]) -> None:
    """``charge.dispute.created``: the order goes on hold."""
    row = _dispute_row(dispute)
    if row is not None:
        _hold(row)


def dispute_updated(dispute: dict[str, Any]) -> None:
    """``charge.dispute.updated``: the status and deadline as Stripe has them now (an update
    that comes before its ``created`` holds the order as that would)."""
    dispute_created(dispute)


def dispute_closed(dispute: dict[str, Any]) -> None:
    """``charge.dispute.closed``: won (or an inquiry closed) returns the money and unlocks the
    originals; lost ends the order charged back."""
    row = _dispute_row(dispute)
    if row is None:
        return
    outcome = CLOSED_OUTCOMES.get(row.status)
    if outcome is None:
        logger.warning("dispute %s closed as %r: left for support", row.dispute_id, row.status)
        return
    _hold(row)
    _settle(row, outcome)


# --- support records a chargeback of a provider that does not report its own ----------------


def _manual_reference(order: Order, reference: str) -> str:
    return reference or f"manual-{order.pk}-{timezone.now():%Y%m%d%H%M%S}"


@transaction.atomic
def chargeback_record(*, order_id: int, user: User, reference: str = "", text: str = "") -> Order:
    """Support records a chargeback the bank reported (``manual`` and ``test`` providers):
    the order goes on hold exactly as a provider's report puts it."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    reference = text_check(reference, field="reference", limit=255, required=False, one_line=True)
    reference = _manual_reference(order, reference)
    if ProviderDispute.objects.filter(dispute_id=reference).exists():
        raise Conflict("A chargeback with this reference is on record already.", code="duplicate")
    row = ProviderDispute.objects.create(
        dispute_id=reference,
        order=order,
        provider=order.payment_provider,
        amount=order.total - order.refunded,
        currency=order.currency,
        status="needs_response",
        created_at=timezone.now(),
    )
    _hold(row, user=user, text=text)
    order.refresh_from_db()
    return order


@transaction.atomic
def chargeback_outcome_record(
    *, order_id: int, user: User, won: bool, reference: str = "", text: str = ""
) -> Order:
    """Support records the bank's decision on a chargeback it recorded."""
    row = (
        ProviderDispute.objects.select_for_update()
        .filter(order_id=order_id, outcome="", held_at__isnull=False)
        .order_by("-id")
        .first()
    )
    if row is None:
        # A hold from before disputes were recorded: the order's own move, with no row.
        outcome = DisputeOutcome.WON if won else DisputeOutcome.LOST
        return _decided(order_id, outcome, user=user, reference=reference, text=text)
    if row.provider == "stripe":
        raise TransitionNotAllowed("Stripe reports the outcome of its disputes itself.")
    row.status = "won" if won else "lost"
    row.save(update_fields=["status"])
    _settle(row, DisputeOutcome.WON if won else DisputeOutcome.LOST, user=user, text=text)
    return Order.objects.get(pk=order_id)


# --- the seller's note -----------------------------------------------------------------------


def submit_at(row: ProviderDispute) -> datetime | None:
    """When Handover answers the bank: the cut-off before its deadline."""
    if row.due_by is None:
        return None
    return row.due_by - settings.HANDOVER_CHARGEBACK_SUBMIT_BEFORE


def disputes_of(order_id: int) -> list[ProviderDispute]:
    """The chargebacks recorded on an order, newest first."""
    return list(ProviderDispute.objects.filter(order_id=order_id).order_by("-id"))


def open_dispute_of(order: Order) -> ProviderDispute | None:
    """The chargeback the order is on hold for, if one is on record."""
    if order.state != State.CHARGEBACK_HOLD:
        return None
    return ProviderDispute.objects.filter(order=order, outcome="").order_by("-id").first()


def note_refusal(row: ProviderDispute | None, now: datetime) -> str | None:
    """Why the seller cannot add a note to the answer now, or None."""
    if row is None or row.outcome:
        return "The order is not on hold for a chargeback."
    if row.submitted_at is not None:
        return "The answer to the bank was sent already."
    cut_off = submit_at(row)
    if cut_off is not None and now >= cut_off:
        return "The answer to the bank is being sent: notes closed at its cut-off."
    return None


def seller_note_of(row: ProviderDispute) -> str:
    """The seller's note for the bank on this chargeback: the latest the record holds."""
    event = (
        Event.objects.filter(
            order_id=row.order_id,
            type=EventType.CHARGEBACK_NOTE,
            payload__reference=row.dispute_id,
        )
        .order_by("-id")
        .first()
    )
    return str(event.payload.get("note", "")) if event is not None else ""


@transaction.atomic
def chargeback_note_set(*, order_id: int, user: User, text: str) -> ProviderDispute:
    """The seller's note for the bank, sent with the evidence (replaces an earlier one). Each
    note is an event on the order's record, so what the bank is sent is what the record shows."""
    order = order_visible(order_id=order_id, user=user)
    if viewer_role(order, user) != Actor.SELLER:
        raise TransitionNotAllowed("Only the seller adds a note to the answer to the bank.")
    text = text_check(text, field="note", limit=MAX_NOTE_LENGTH)
    row = open_dispute_of(order)
    if row is not None:
        # The dispute's row first, then the order's, as the provider's events take them: the
        # answer is not sent, nor the bank's decision applied, while the note is written.
        row = ProviderDispute.objects.select_for_update().get(pk=row.pk)
        order = order_lock(order.pk)
    if reason := note_refusal(row, timezone.now()):
        raise TransitionNotAllowed(reason)
    assert row is not None
    event = event_append(
        order=order,
        type=EventType.CHARGEBACK_NOTE,
        actor=user,
        actor_role=Actor.SELLER,
        payload={"reference": row.dispute_id, "note": text},
    )
    notifications_for_event(event)
    return row
