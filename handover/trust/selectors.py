"""Reads for trust: a user's record, and the reviews anyone may read."""

from datetime import datetime
from typing import Any

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from handover.accounts.models import User
from handover.disputes.models import Dispute, Outcome
from handover.evidence.models import Event, EventType
from handover.lib.errors import NotFound
from handover.orders.models import Order
from handover.orders.rules import CLOSED, Action, Actor, State
from handover.trust.models import PartyRole, Report, Review
from handover.trust.rules import (
    REVIEW_WINDOW,
    CancelledOrder,
    RoleRecord,
    UserRecord,
    cancellations_count,
    review_window_ends,
    reviews_visible,
)


def visible_reviews(now: datetime) -> QuerySet[Review]:
    """Reviews anyone may read: ``rules.reviews_visible`` as a filter."""
    other_in = Review.objects.filter(order=OuterRef("order"), author=OuterRef("subject"))
    return Review.objects.filter(Q(Exists(other_in)) | Q(order__closed_at__lte=now - REVIEW_WINDOW))


def order_reviews_for(
    *, order_id: int, user: User, now: datetime
) -> tuple[list[Review], list[str], datetime | None]:
    """The order's reviews ``user`` may read, the roles whose review is in but hidden from
    them, and when the review window ends. A party always reads its own review and the
    other's once ``rules.reviews_visible``; support (not a party) reads all."""
    order = Order.objects.filter(pk=order_id).first()
    party = order is not None and user.pk in (order.buyer_id, order.seller_id)
    if order is None or not (party or user.is_support):
        raise NotFound("No such order.")  # as for every order a user may not see
    reviews = list(Review.objects.filter(order=order).select_related("author", "subject"))
    visible = not party or reviews_visible(
        both_in=len(reviews) == 2, closed_at=order.closed_at, now=now
    )
    shown = [r for r in reviews if visible or r.author_id == user.pk]
    hidden = [r.author_role for r in reviews if r not in shown]
    return shown, hidden, review_window_ends(order.closed_at) if order.closed_at else None


def user_record(user: User) -> UserRecord:
    """What strangers judge ``user`` by; four queries, however many orders they had."""
    rows = _order_rows(user)
    disputes = _dispute_counts(user)
    reports = Report.objects.filter(subject=user).aggregate(
        received=Count("pk"), reporters=Count("reporter", distinct=True)
    )
    reviews = _review_counts(user)
    return UserRecord(
        user_id=user.pk,
        username=user.username,
        as_buyer=_role_record(PartyRole.BUYER, rows, disputes, reviews),
        as_seller=_role_record(PartyRole.SELLER, rows, disputes, reviews),
        reports_received=reports["received"],
        reporters=reports["reporters"],
        review_count=reviews["all_count"],
        review_average=_rounded(reviews["all_average"]),
    )


def _order_rows(user: User) -> list[dict[str, Any]]:
    """The user's ended, paid orders grouped by role, state, and for cancelled orders how the
    cancellation came about (read from the order's events); one row per combination."""
    transitions = Event.objects.filter(
        order=OuterRef("pk"), type=EventType.ORDER_TRANSITION
    ).order_by("-id")
    cancelling = transitions.filter(payload__to=State.CANCELLED)
    requested = transitions.filter(payload__action=Action.REQUEST_CANCELLATION)
    released = Event.objects.filter(order=OuterRef("pk")).filter(
        Q(type=EventType.DELIVERY_RELEASED_EARLY)
        | Q(type=EventType.ORIGINAL_DOWNLOADED, actor_role=Actor.BUYER)
        | Q(type=EventType.ORDER_TRANSITION, payload__to=State.COMPLETED)
    )

    def when_cancelled(expression):
        return Case(When(state=State.CANCELLED, then=expression), default=Value(None))

    rows = (
        Order.objects.filter(Q(buyer=user) | Q(seller=user), state__in=CLOSED)
        .filter(paid_at__isnull=False)  # an abandoned order never started
        .annotate(
            is_buyer=ExpressionWrapper(Q(buyer=user), output_field=BooleanField()),
            action=when_cancelled(
                Subquery(cancelling.values(value=KeyTextTransform("action", "payload"))[:1])
            ),
            actor=when_cancelled(Subquery(cancelling.values("actor_role")[:1])),
            requester=when_cancelled(Subquery(requested.values("actor_role")[:1])),
            released=Case(
                When(state=State.CANCELLED, then=Exists(released)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values("is_buyer", "state", "action", "actor", "requester", "released")
        .annotate(orders=Count("pk"))
        .order_by()
    )
    return [dict(row) for row in rows]


def _dispute_counts(user: User) -> dict[str, int]:
    """Disputes on the user's orders, by role: opened by the user, won, lost, split."""
    buyer, seller = Q(order__buyer=user), Q(order__seller=user)
    # Who loses each outcome: the buyer a release, the seller a refund; a split neither.
    lost = {PartyRole.BUYER: Outcome.RELEASE, PartyRole.SELLER: Outcome.REFUND}
    won = {PartyRole.BUYER: Outcome.REFUND, PartyRole.SELLER: Outcome.RELEASE}
    counts: dict[str, Any] = {}
    for role, party in ((PartyRole.BUYER, buyer), (PartyRole.SELLER, seller)):
        counts[f"{role}_opened"] = Count("pk", filter=party & Q(opened_by=user))
        counts[f"{role}_won"] = Count("pk", filter=party & Q(outcome=won[role]))
        counts[f"{role}_lost"] = Count("pk", filter=party & Q(outcome=lost[role]))
        counts[f"{role}_split"] = Count("pk", filter=party & Q(outcome=Outcome.SPLIT))
    return Dispute.objects.filter(buyer | seller).aggregate(**counts)


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


def _role_record(
    role: PartyRole, rows: list[dict[str, Any]], disputes: dict[str, int], reviews: dict
) -> RoleRecord:
    mine = [row for row in rows if bool(row["is_buyer"]) == (role == PartyRole.BUYER)]

    def ended(state: State) -> int:
        return sum(row["orders"] for row in mine if row["state"] == state)

    cancelled = [
        (
            CancelledOrder(
                action=row["action"] or "",
                actor_role=row["actor"] or "",
                requester=row["requester"],
                released=bool(row["released"]),
            ),
            row["orders"],
        )
        for row in mine
        if row["state"] == State.CANCELLED
    ]
    return RoleRecord(
        completed=ended(State.COMPLETED),
        charged_back=ended(State.CHARGED_BACK),
        cancellations=cancellations_count(cancelled),
        disputes_opened=disputes[f"{role}_opened"],
        disputes_won=disputes[f"{role}_won"],
        disputes_lost=disputes[f"{role}_lost"],
        disputes_split=disputes[f"{role}_split"],
        review_count=reviews[f"{role}_count"],
        review_average=_rounded(reviews[f"{role}_average"]),
    )


def _rounded(average: float | None) -> float | None:
    return None if average is None else round(float(average), 2)
