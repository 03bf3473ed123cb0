"""Trust's writes: the record's counters, reviews, reports, and a user's standing (support's
warnings, suspension and reinstatement, each an event of no order with its rationale).

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
from handover.evidence.models import Actor, EventType
from handover.evidence.services import event_append
from handover.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handover.lib.links import page_url
from handover.lib.text import text_check
from handover.notifications.rules import Email, quote
from handover.notifications.services import email_to_user, notifications_for_event
from handover.trust.models import (
    AccountWarning,
    PartyRole,
    Report,
    ReportReason,
    Review,
    RoleCounts,
    Suspension,
)
from handover.trust.rules import (
    MAX_RATING,
    MAX_RATIONALE,
    MAX_REVIEW_TEXT,
    MAX_WARNING_TEXT,
    MIN_RATING,
    DisputeResult,
    RoleRecord,
    standing_refusal,
)
from handover.trust.selectors import open_suspension

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
def report_handle(*, report_id: int, user: User, rationale: str = "") -> Report:
    """Support marks a report as dealt with, saying how (the API may leave that empty; the
    web asks for it)."""
    if not user.is_support:
        raise PermissionDenied("Reports are handled by support agents.")
    rationale = _rationale(rationale, required=False)
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
    payload = {"report_id": report.pk, "user_id": report.subject_id, "rationale": rationale}
    event = event_append(
        type=EventType.REPORT_HANDLED, actor=user, actor_role=Actor.SUPPORT, payload=payload
    )
    notifications_for_event(event)  # mails nobody (notifications.rules.SILENT)
    return report


# --- a user's standing -----------------------------------------------------------------------


def _rationale(text: str, *, required: bool = True) -> str:
    return text_check(
        text, field="rationale", limit=MAX_RATIONALE, required=required, code="bad_rationale"
    )


def _subject_lock(*, user_id: int, agent: User, report_id: int | None) -> User:
    """The user support acts on, locked, once the agent may act on them; the report named
    must be about them."""
    # The lock serialises two agents acting on one user: the second sees the first's
    # suspension (the unique constraint on open suspensions is the last word).
    subject = User.objects.select_for_update().filter(pk=user_id).first()
    if subject is None:
        raise NotFound("No such user.")
    refusal = standing_refusal(
        agent_id=agent.pk, agent_role=agent.role, subject_id=subject.pk, subject_role=subject.role
    )
    if refusal:
        raise PermissionDenied(refusal)
    if report_id is not None and not Report.objects.filter(pk=report_id, subject=subject).exists():
        raise InvalidInput("That report is not about this user.", code="not_a_party")
    return subject


def _standing_event(
    type: EventType, *, agent: User, subject: User, payload: dict, email: Email
) -> None:
    event = event_append(
        type=type,
        actor=agent,
        actor_role=Actor.SUPPORT,
        payload={"user_id": subject.pk, **payload},
    )
    notifications_for_event(event)  # nobody but the user, told below: the event has no order
    email_to_user(event, user_id=subject.pk, email=email)


@transaction.atomic
def user_warn(
    *, user_id: int, agent: User, text: str, rationale: str, report_id: int | None = None
) -> AccountWarning:
    """Support warns a user: they are told by e-mail and read it on their next page."""
    text = text_check(text, field="warning", limit=MAX_WARNING_TEXT, code="bad_warning")
    rationale = _rationale(rationale)
    subject = _subject_lock(user_id=user_id, agent=agent, report_id=report_id)
    warning = AccountWarning.objects.create(
        user=subject,
        report_id=report_id,
        text=text,
        rationale=rationale,
        created_at=timezone.now(),
        created_by=agent,
    )
    lines = [
        "Support has looked at how you use Handover and asks you to read this:",
        quote("Warning", text),
        f"You will see it again on your next visit: {page_url('web:offers')}",
    ]
    _standing_event(
        EventType.USER_WARNED,
        agent=agent,
        subject=subject,
        payload={
            "warning_id": warning.pk,
            "report_id": report_id,
            "text": text,
            "rationale": rationale,
        },
        email=Email("A warning from support", "\n\n".join(lines) + "\n"),
    )
    return warning


@transaction.atomic
def user_suspend(
    *, user_id: int, agent: User, rationale: str, report_id: int | None = None
) -> Suspension:
    """Support suspends a user: no sign-in, no token, no new orders on their offers. Their
    open orders go on to an end; support settles each from its page."""
    rationale = _rationale(rationale)
    subject = _subject_lock(user_id=user_id, agent=agent, report_id=report_id)
    if open_suspension(subject.pk) is not None:
        raise Conflict(f"{subject.username} is suspended already.", code="already_suspended")
    suspension = Suspension.objects.create(
        user=subject,
        report_id=report_id,
        rationale=rationale,
        started_at=timezone.now(),
        started_by=agent,
    )
    lines = [
        "Support has suspended your Handover account. Until support reinstates it you cannot "
        "sign in or use the API, and your offers take no new orders.",
        "Your open orders go on to an end: support settles each of them.",
        "Write to support if you think this is a mistake.",
    ]
    _standing_event(
        EventType.USER_SUSPENDED,
        agent=agent,
        subject=subject,
        payload={"suspension_id": suspension.pk, "report_id": report_id, "rationale": rationale},
        email=Email("Your account is suspended", "\n\n".join(lines) + "\n"),
    )
    return suspension


@transaction.atomic
def user_reinstate(*, user_id: int, agent: User, rationale: str) -> Suspension:
    """Support ends a user's suspension: they may sign in again and their offers take orders."""
    rationale = _rationale(rationale)
    subject = _subject_lock(user_id=user_id, agent=agent, report_id=None)
    suspension = open_suspension(subject.pk)
    if suspension is None:
        raise Conflict(f"{subject.username} is not suspended.", code="not_suspended")
    suspension.ended_at = timezone.now()
    suspension.ended_by = agent
    suspension.end_rationale = rationale
    suspension.save(update_fields=["ended_at", "ended_by", "end_rationale"])
    lines = [
        "Support has reinstated your Handover account: you can sign in again, and your offers "
        "take orders again.",
        f"Sign in: {page_url('web:login')}",
    ]
    _standing_event(
        EventType.USER_REINSTATED,
        agent=agent,
        subject=subject,
        payload={"suspension_id": suspension.pk, "rationale": rationale},
        email=Email("Your account is reinstated", "\n\n".join(lines) + "\n"),
    )
    return suspension


@transaction.atomic
def warnings_take_unseen(*, user: User) -> list[AccountWarning]:
    """The user's warnings they have not yet seen, now marked seen (their page shows them)."""
    unseen = list(
        AccountWarning.objects.select_for_update().filter(user=user, seen_at=None).order_by("id")
    )
    if unseen:
        AccountWarning.objects.filter(pk__in=[w.pk for w in unseen]).update(seen_at=timezone.now())
    return unseen
