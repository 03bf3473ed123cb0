"""What one party of an order says of the other: a review once the order has ended, a report
to support. Each locks the order and checks its parties, then has trust write the row with
plain values, and records the order's event in the same transaction."""

from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.errors import InvalidInput, PermissionDenied
from handover.notifications.services import notifications_for_event
from handover.orders.models import Order
from handover.orders.rules import Actor, State, review_refusal
from handover.orders.services import order_lock, role_of
from handover.trust import services as trust
from handover.trust.models import PartyRole, Report, Review


def _party(order: Order, user: User) -> PartyRole:
    """The user's side of the order; support is refused, a stranger told there is no order."""
    role = role_of(order, user)
    if role not in (Actor.BUYER, Actor.SELLER):
        raise PermissionDenied("Only the order's buyer and seller take part in it.")
    return PartyRole(role.value)


@transaction.atomic
def order_review(*, order_id: int, user: User, rating: int, text: str) -> Review:
    """A party reviews the other once their order has ended; one review each."""
    # The lock serialises two reviews by the same author (the second sees the first) and
    # keeps the event in the order's chain in the order the reviews were written.
    order = order_lock(order_id)
    role = _party(order, user)
    refused = review_refusal(
        state=State(order.state),
        taken_on=order.due_at is not None,  # set when the order reaches in_progress
        closed_at=order.closed_at,
        now=timezone.now(),
    )
    review = trust.review_add(
        order_id=order.pk,
        author=user,
        author_role=role,
        subject_id=order.seller_id if role == PartyRole.BUYER else order.buyer_id,
        rating=rating,
        text=text,
        refusal=refused,
    )
    # Both parties read the order's events: the review itself stays out until it is visible.
    payload = {"review_id": review.pk, "author_role": role.value, "sha256": review.sha256}
    event = event_append(
        order=order, type=EventType.REVIEW_SUBMITTED, actor=user, actor_role=role, payload=payload
    )
    notifications_for_event(event)
    return review


@transaction.atomic
def order_report(
    *, order_id: int, reporter: User, subject_id: int, reason: str, text: str
) -> Report:
    """A party reports the other to support about their order; the event carries its hash."""
    draft = trust.report_check(reporter=reporter, subject_id=subject_id, reason=reason, text=text)
    order = order_lock(order_id)
    role = _party(order, reporter)
    if subject_id not in (order.buyer_id, order.seller_id):
        raise InvalidInput("A report about an order is about its other party.", code="not_a_party")
    report = trust.report_add(draft=draft, order_id=order.pk)
    payload = {"report_id": report.pk, "reason": draft.reason.value, "sha256": report.sha256}
    event = event_append(
        order=order, type=EventType.REPORT_FILED, actor=reporter, actor_role=role, payload=payload
    )
    notifications_for_event(event)
    return report
