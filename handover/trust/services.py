"""Trust's writes: the record's counters, reviews and reports.

Trust knows nothing of orders. The order and dispute services tell it what happened, in the
transaction of the change (``record_*``); the order services lock an order and check its
parties before they write a review or a report about it (``orders.services.order_review``,
``order_report``), then call these with plain values.
"""

import secrets
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from handover.accounts.models import User
from handover.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handover.lib.text import text_check
from handover.trust.models import PartyRole, Report, ReportReason, Review, RoleCounts
from handover.trust.rules import (
    MAX_RATING,
    MAX_REVIEW_TEXT,
    MIN_RATING,
    DisputeResult,
    RoleRecord,
)

MAX_REPORT_TEXT = 5000
# Open reports one user may have against another; more is harassment of the support desk.
MAX_OPEN_REPORTS = 5


# --- the record's counters -------------------------------------------------------------------


def _columns(change: RoleRecord, sign: int) -> dict[str, int]:
    """``change`` as the RoleCounts columns it adds to (``sign`` -1: takes from)."""
    counts = {
        "completed": change.completed,
        "charged_back": change.charged_back,
        **{f"cancellations_{k}": v for k, v in asdict(change.cancellations).items()},
        "disputes_opened": change.disputes_opened,
        "disputes_won": change.disputes_won,
        "disputes_lost": change.disputes_lost,
        "disputes_split": change.disputes_split,
    }
    return {name: sign * n for name, n in counts.items() if n}


def record_add(*, user_id: int, role: PartyRole, change: RoleRecord, sign: int = 1) -> None:
    """Add ``change`` to the user's counters in ``role``, in the caller's transaction."""
    changes = {name: F(name) + n for name, n in _columns(change, sign).items()}
    if not changes:
        return
    rows = RoleCounts.objects.filter(user_id=user_id, role=role)
    # F(): the database adds to the value it holds. Two orders of one seller closing at once
    # hold two different order locks, not a common one: a count read here and written back
    # would lose one of them. The row is made on first use; when two transactions make it at
    # once, the unique constraint lets one insert and get_or_create has the other read it.
    if not rows.update(**changes):
        RoleCounts.objects.get_or_create(user_id=user_id, role=role)
        rows.update(**changes)


def record_order(
    *,
    buyer_id: int,
    seller_id: int,
    buyer_change: RoleRecord,
    seller_change: RoleRecord,
    sign: int = 1,
) -> None:
    """An order entered (``sign`` 1) or left (-1) a closed state: both parties' records."""
    # Always the buyer's row first, then the seller's: one lock order, no deadlock.
    record_add(user_id=buyer_id, role=PartyRole.BUYER, change=buyer_change, sign=sign)
    record_add(user_id=seller_id, role=PartyRole.SELLER, change=seller_change, sign=sign)


def record_dispute_opened(*, user_id: int, role: PartyRole) -> None:
    """A party opened a dispute (the timer's disputes count for nobody)."""
    record_add(user_id=user_id, role=role, change=RoleRecord(disputes_opened=1))


def record_dispute_decided(
    *, buyer_id: int, seller_id: int, buyer: DisputeResult, seller: DisputeResult
) -> None:
    """Support decided a dispute: won, lost or split for each party."""
    for user_id, role, result in (
        (buyer_id, PartyRole.BUYER, buyer),
        (seller_id, PartyRole.SELLER, seller),
    ):
        change = RoleRecord(
            disputes_won=int(result == DisputeResult.WON),
            disputes_lost=int(result == DisputeResult.LOST),
            disputes_split=int(result == DisputeResult.SPLIT),
        )
        record_add(user_id=user_id, role=role, change=change)


# --- reviews ---------------------------------------------------------------------------------


def _check_rating(rating: int) -> int:
    if type(rating) is not int or not MIN_RATING <= rating <= MAX_RATING:
        raise InvalidInput(
            f"The rating is a whole number from {MIN_RATING} to {MAX_RATING}.", code="bad_rating"
        )
    return rating


@transaction.atomic
def review_add(
    *,
    order_id: int,
    author: User,
    author_role: PartyRole,
    subject_id: int,
    rating: int,
    text: str,
    refusal: str | None,
) -> Review:
    """Write a party's review of an order, once; ``refusal`` is why the order's rules say it
    may not be reviewed now. Called by ``orders.services.order_review`` under the order's
    lock, which serialises two reviews by one author (the second sees the first)."""
    rating = _check_rating(rating)
    text = text_check(text, field="review", limit=MAX_REVIEW_TEXT, required=False)
    if refusal:
        raise Conflict(refusal, code="not_reviewable")
    if Review.objects.filter(order_id=order_id, author=author).exists():
        raise Conflict("You have reviewed this order already.", code="already_reviewed")
    return Review.objects.create(
        order_id=order_id,
        author=author,
        subject_id=subject_id,
        author_role=author_role,
        rating=rating,
        text=text,
        salt=secrets.token_hex(16),
        created_at=timezone.now(),
    )


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportDraft:
    """A report's fields, checked; not yet filed."""

    reporter: User
    subject: User
    reason: ReportReason
    text: str


def report_check(*, reporter: User, subject_id: int, reason: str, text: str) -> ReportDraft:
    """Check a report's fields (before any lock is taken)."""
    if reason not in ReportReason.values:
        raise InvalidInput(
            f"The reason is one of: {', '.join(ReportReason.values)}.", code="bad_reason"
        )
    text = text_check(
        text, field="report", limit=MAX_REPORT_TEXT, required=reason == ReportReason.OTHER
    )
    if subject_id == reporter.pk:
        raise InvalidInput("You cannot report yourself.", code="self_report")
    subject = User.objects.filter(pk=subject_id).first()
    if subject is None:
        raise NotFound("No such user.")
    return ReportDraft(reporter, subject, ReportReason(reason), text)


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
def report_add(*, draft: ReportDraft, order_id: int | None = None) -> Report:
    """File a checked report; about an order only from ``orders.services.order_report``."""
    _check_open_reports(draft.reporter, draft.subject)
    return Report.objects.create(
        reporter=draft.reporter,
        subject=draft.subject,
        order_id=order_id,
        reason=draft.reason,
        text=draft.text,
        created_at=timezone.now(),
    )


@transaction.atomic
def report_create(*, reporter: User, subject_id: int, reason: str, text: str) -> Report:
    """A user reports another to support (about an order: ``orders.services.order_report``)."""
    draft = report_check(reporter=reporter, subject_id=subject_id, reason=reason, text=text)
    return report_add(draft=draft)


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
