"""Reads for trust: a user's record, and the reviews anyone may read."""

from dataclasses import fields
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from handover.accounts.models import User
from handover.trust.models import PartyRole, Report, Review, RoleCounts
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


def seller_reviews(user: User, *, limit: int) -> list[Review]:
    """The newest reviews buyers wrote of ``user`` as their seller that anyone may read."""
    reviews = visible_reviews(timezone.now()).filter(subject=user, author_role=PartyRole.BUYER)
    return list(reviews.select_related("author", "order__offer").order_by("-id")[:limit])
