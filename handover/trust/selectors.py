"""Reads for trust: a user's record, the reviews anyone may read, the report queue, and a
user's standing (warnings, suspension)."""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.db.models import (
    Avg,
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from handover.accounts.models import User
from handover.trust.models import (
    AccountWarning,
    PartyRole,
    Report,
    Review,
    RoleCounts,
    Suspension,
)
from handover.trust.rules import REVIEW_WINDOW, Cancellations, RoleRecord, UserRecord


def visible_reviews(now: datetime) -> QuerySet[Review]:
    """Reviews anyone may read: ``rules.reviews_visible`` as a filter."""
    other_in = Review.objects.filter(order=OuterRef("order"), author=OuterRef("subject"))
    return Review.objects.filter(Q(Exists(other_in)) | Q(order__closed_at__lte=now - REVIEW_WINDOW))


def user_record(user: User) -> UserRecord:
    """What strangers judge ``user`` by; three queries, however many orders they had."""
    counts = {row.role: row for row in RoleCounts.objects.filter(user=user)}
    reports = Report.objects.filter(subject=user).aggregate(
        received=Count("pk"), reporters=Count("reporter", distinct=True)
    )
    reviews = _review_counts(user)
    return UserRecord(
        user_id=user.pk,
        username=user.username,
        as_buyer=_role_record(PartyRole.BUYER, counts.get(PartyRole.BUYER), reviews),
        as_seller=_role_record(PartyRole.SELLER, counts.get(PartyRole.SELLER), reviews),
        reports_received=reports["received"],
        reporters=reports["reporters"],
        review_count=reviews["all_count"],
        review_average=_rounded(reviews["all_average"]),
    )


def _review_counts(user: User) -> dict[str, Any]:
    """Visible reviews of the user: all of them, and by the role the user had."""
    # The user was the buyer in the reviews its sellers wrote, and the other way round.
    by_author = {PartyRole.BUYER: PartyRole.SELLER, PartyRole.SELLER: PartyRole.BUYER}
    aggregates: dict[str, Any] = {"all_count": Count("pk"), "all_average": Avg("rating")}
    for role, author_role in by_author.items():
        written = Q(author_role=author_role)
        aggregates[f"{role}_count"] = Count("pk", filter=written)
        aggregates[f"{role}_average"] = Avg("rating", filter=written)
    return visible_reviews(timezone.now()).filter(subject=user).aggregate(**aggregates)


def _role_record(role: PartyRole, counts: RoleCounts | None, reviews: dict) -> RoleRecord:
    counts = counts or RoleCounts()  # no order of theirs has closed in this role yet
    cancellations = Cancellations(
        **{f.name: getattr(counts, f"cancellations_{f.name}") for f in fields(Cancellations)}
    )
    return RoleRecord(
        completed=counts.completed,
        charged_back=counts.charged_back,
        cancellations=cancellations,
        disputes_opened=counts.disputes_opened,
        disputes_won=counts.disputes_won,
        disputes_lost=counts.disputes_lost,
        disputes_split=counts.disputes_split,
        review_count=reviews[f"{role}_count"],
        review_average=_rounded(reviews[f"{role}_average"]),
    )


def _rounded(average: float | None) -> float | None:
    return None if average is None else round(float(average), 2)


# --- a user's standing -----------------------------------------------------------------------


def open_suspension(user_id: int) -> Suspension | None:
    """The user's suspension in force, if any."""
    return Suspension.objects.filter(user_id=user_id, ended_at=None).first()


def user_suspended(user_id: int) -> bool:
    """Whether support has suspended the user (asked on each API call with their token)."""
    return Suspension.objects.filter(user_id=user_id, ended_at=None).exists()


def user_standing(user_id: int) -> tuple[bool, bool]:
    """Whether the user is suspended, and whether a warning waits for them: one query, asked
    on each page a signed-in user opens."""
    open_ones = Suspension.objects.filter(user=OuterRef("pk"), ended_at=None)
    unseen = AccountWarning.objects.filter(user=OuterRef("pk"), seen_at=None)
    row = User.objects.filter(pk=user_id).values_list(Exists(open_ones), Exists(unseen)).first()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def reports_queue(*, handled: bool | None) -> QuerySet[Report]:
    """Reports waiting for support oldest first (``handled`` False), the handled ones newest
    first (True), or all of them, the waiting ones first (None), as ``GET /reports``."""
    reports = Report.objects.select_related("reporter", "subject", "handled_by", "order")
    if handled is None:
        waiting = ExpressionWrapper(Q(handled_at__isnull=False), output_field=BooleanField())
        return reports.order_by(waiting, "created_at", "id")
    if handled:
        return reports.filter(handled_at__isnull=False).order_by("-handled_at", "-id")
    return reports.filter(handled_at=None).order_by("created_at", "id")


def suspended_user_ids() -> QuerySet[Suspension, Any]:
    """The users suspended now, as a subquery (``user_id__in=``)."""
    return Suspension.objects.filter(ended_at=None).values("user_id")


@dataclass(frozen=True)
class Standing:
    """What support reads of a user's dealings with the desk."""

    reports: list[Report]  # about them, newest first
    warnings: list[AccountWarning]
    suspensions: list[Suspension]

    @property
    def suspension(self) -> Suspension | None:
        return next((s for s in self.suspensions if s.ended_at is None), None)


def user_standing_history(user: User) -> Standing:
    """The reports about a user, and support's warnings and suspensions of them."""
    reports = Report.objects.filter(subject=user).select_related("reporter", "handled_by")
    warnings = AccountWarning.objects.filter(user=user).select_related("created_by")
    suspensions = Suspension.objects.filter(user=user).select_related("started_by", "ended_by")
    return Standing(
        reports=list(reports.order_by("-id")),
        warnings=list(warnings.order_by("-id")),
        suspensions=list(suspensions.order_by("-id")),
    )


def seller_reviews(user: User, *, limit: int) -> list[Review]:
    """The newest reviews buyers wrote of ``user`` as their seller that anyone may read."""
    reviews = visible_reviews(timezone.now()).filter(subject=user, author_role=PartyRole.BUYER)
    return list(reviews.select_related("author", "order__offer").order_by("-id")[:limit])
