"""Reviews and reports. Those about an order write their event under the order's row lock."""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.canonical import json_sha256
from handover.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.orders.services import order_lock, role_of
from handover.trust.models import PartyRole, Report, ReportReason, Review
from handover.trust.rules import MAX_RATING, MAX_REVIEW_TEXT, MIN_RATING, review_refusal

MAX_REPORT_TEXT = 5000
# Open reports one user may have against another; more is harassment of the support desk.
MAX_OPEN_REPORTS = 5


def _check_rating(rating: int) -> int:
    if type(rating) is not int or not MIN_RATING <= rating <= MAX_RATING:
        raise InvalidInput(
            f"The rating is a whole number from {MIN_RATING} to {MAX_RATING}.", code="bad_rating"
        )
    return rating


def _party(order: Order, user: User) -> PartyRole:
    """The user's side of the order; a stranger is told the order does not exist."""
    role = role_of(order, user)
    if role not in (Actor.BUYER, Actor.SELLER):
        raise PermissionDenied("Only the order's buyer and seller take part in it.")
    return PartyRole(role.value)


def _check_reviewable(order: Order, user: User, now: datetime) -> None:
    refusal = review_refusal(
        state=State(order.state),
        taken_on=order.due_at is not None,  # set when the order reaches in_progress
        closed_at=order.closed_at,
        now=now,
    )
    if refusal:
        raise Conflict(refusal, code="not_reviewable")
    if Review.objects.filter(order=order, author=user).exists():
        raise Conflict("You have reviewed this order already.", code="already_reviewed")


@transaction.atomic
def review_submit(*, order_id: int, user: User, rating: int, text: str) -> Review:
    """A party reviews the other once their order has ended; one review each."""
    # The lock serialises two reviews by the same author (the second sees the first) and
    # keeps the event in the order's chain in the order the reviews were written.
    order = order_lock(order_id)
    role = _party(order, user)
    rating = _check_rating(rating)
    text = text_check(text, field="review", limit=MAX_REVIEW_TEXT, required=False)
    now = timezone.now()
    _check_reviewable(order, user, now)
    review = Review.objects.create(
        order=order,
        author=user,
        subject_id=order.seller_id if role == PartyRole.BUYER else order.buyer_id,
        author_role=role,
        rating=rating,
        text=text,
        salt=secrets.token_hex(16),
        created_at=now,
    )
    # Both parties read the order's events: the review itself stays out until it is visible.
    event = event_append(
        order=order,
        type=EventType.REVIEW_SUBMITTED,
        actor=user,
        actor_role=role,
        payload={"review_id": review.pk, "author_role": role.value, "sha256": review.sha256},
    )
    notifications_for_event(event)
    return review


def _reason(reason: str) -> ReportReason:
    if reason not in ReportReason.values:
        raise InvalidInput(
            f"The reason is one of: {', '.join(ReportReason.values)}.", code="bad_reason"
        )
    return ReportReason(reason)


def _report_order(order_id: int, reporter: User, subject_id: int) -> tuple[Order, PartyRole]:
    order = order_lock(order_id)
    role = _party(order, reporter)
    if subject_id not in (order.buyer_id, order.seller_id):
        raise InvalidInput("A report about an order is about its other party.", code="not_a_party")
    return order, role


def _check_open_reports(reporter: User, subject: User) -> None:
    # Lock the reporter's row so that two reports at once cannot both pass the count (taken
    # after the order's lock: every service locks the order first).
    User.objects.select_for_update().filter(pk=reporter.pk).exists()
    open_reports = Report.objects.filter(reporter=reporter, subject=subject, handled_at=None)
    if open_reports.count() >= MAX_OPEN_REPORTS:
        raise Conflict(
            f"You have {MAX_OPEN_REPORTS} reports about this user waiting for support.",
            code="too_many_reports",
        )


@transaction.atomic
def report_create(
    *, reporter: User, subject_id: int, order_id: int | None = None, reason: str, text: str
) -> Report:
    """A user reports another to support, about one of their orders or in general."""
    reason = _reason(reason)
    text = text_check(
        text, field="report", limit=MAX_REPORT_TEXT, required=reason == ReportReason.OTHER
    )
    if subject_id == reporter.pk:
        raise InvalidInput("You cannot report yourself.", code="self_report")
    subject = User.objects.filter(pk=subject_id).first()
    if subject is None:
        raise NotFound("No such user.")
    on_order = None if order_id is None else _report_order(order_id, reporter, subject_id)
    _check_open_reports(reporter, subject)
    report = Report.objects.create(
        reporter=reporter,
        subject=subject,
        order=on_order[0] if on_order else None,
        reason=reason,
        text=text,
        created_at=timezone.now(),
    )
    if on_order is not None:
        order, role = on_order
        event = event_append(
            order=order,
            type=EventType.REPORT_FILED,
            actor=reporter,
            actor_role=role,
            payload={
                "report_id": report.pk,
                "reason": reason.value,
                "sha256": _report_sha256(report),
            },
        )
        notifications_for_event(event)
    return report


def _report_sha256(report: Report) -> str:
    return json_sha256(
        {
            "report_id": report.pk,
            "reporter_id": report.reporter_id,
            "subject_id": report.subject_id,
            "order_id": report.order_id,
            "reason": report.reason,
            "text": report.text,
        }
    )


@transaction.atomic
def report_handle(*, report_id: int, user: User) -> Report:
    """Support marks a report as dealt with."""
    if not user.is_support:
        raise PermissionDenied("Reports are handled by support agents.")
    # Two agents at once: the second waits, then sees the report handled.
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound("No such report.")
    if user.pk in (report.reporter_id, report.subject_id):
        raise PermissionDenied("A report you are part of is handled by another agent.")
    if report.handled_at is not None:
        raise Conflict("This report has been handled already.", code="already_handled")
    report.handled_at = timezone.now()
    report.handled_by = user
    report.save(update_fields=["handled_at", "handled_by"])
    return report
