from datetime import datetime

from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictInt

from handover.accounts.models import User
from handover.api.errors import refusals
from handover.api.pagination import Pagination
from handover.lib.bounds import Id, StrictId
from handover.lib.errors import NotFound, PermissionDenied
from handover.orders.feedback import order_report, order_review
from handover.orders.selectors import order_reviews_for
from handover.trust.models import Report
from handover.trust.selectors import reports_queue, user_record, visible_reviews
from handover.trust.services import report_create, report_handle

router = Router()


# --- reviews ---------------------------------------------------------------------------------


class ReviewIn(Schema):
    rating: StrictInt
    text: str = ""


class ReviewOut(Schema):
    id: int
    order_id: int
    author_id: int
    author: str = Field(alias="author.username")
    author_role: str
    subject_id: int
    subject: str = Field(alias="subject.username")
    rating: int
    text: str
    created_at: datetime
    salt: str = Field(description="with the rest, hashes to the sha256 of the review's event")
    sha256: str


class OrderReviewsOut(Schema):
    reviews: list[ReviewOut]
    hidden: list[str] = Field(description="roles whose review is in but not yet visible to you")
    window_ends_at: datetime | None = Field(
        description="reviews close, and all become visible, at this time"
    )


@router.post("/orders/{order_id}/review", response={201: ReviewOut, **refusals(403)})
def submit_review(request, order_id: Id, payload: ReviewIn):
    """Review the other party of an ended order (once; hidden from them until both are in)."""
    review = order_review(
        order_id=order_id, user=request.auth, rating=payload.rating, text=payload.text
    )
    return Status(201, review)


@router.get("/orders/{order_id}/reviews", response=OrderReviewsOut)
def list_order_reviews(request, order_id: Id):
    """The order's reviews you may read: your own, the other's once visible; support all."""
    shown, hidden, window_ends_at = order_reviews_for(
        order_id=order_id, user=request.auth, now=timezone.now()
    )
    return {
        "reviews": shown,
        "hidden": hidden,
        "window_ends_at": window_ends_at,
    }


def _user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


@router.get("/users/{user_id}/reviews", response=list[ReviewOut])
@paginate(Pagination)
def list_user_reviews(request, user_id: Id):
    """Visible reviews of a user, newest first."""
    reviews = visible_reviews(timezone.now()).filter(subject=_user(user_id))
    return reviews.select_related("author", "subject").order_by("-id")


# --- the record ------------------------------------------------------------------------------


class CancellationsOut(Schema):
    total: int
    by_buyer: int
    by_seller: int
    by_timer: int
    by_support: int
    agreed: int
    after_release: int
    by_buyer_after_release: int


class RoleRecordOut(Schema):
    completed: int
    charged_back: int
    cancellations: CancellationsOut
    disputes_opened: int
    disputes_won: int
    disputes_lost: int
    disputes_split: int
    review_count: int
    review_average: float | None


class RecordOut(Schema):
    user_id: int
    username: str
    orders_completed: int
    as_buyer: RoleRecordOut
    as_seller: RoleRecordOut
    reports_received: int
    reporters: int
    review_count: int
    review_average: float | None


@router.get("/users/{user_id}/record", response=RecordOut)
def get_record(request, user_id: Id):
    """A user's record as a buyer and as a seller: what strangers judge each other by."""
    return user_record(_user(user_id)).as_dict()


# --- reports ---------------------------------------------------------------------------------


class ReportIn(Schema):
    reason: str
    text: str = ""
    order_id: StrictId | None = None


class ReportOut(Schema):
    id: int
    reporter_id: int
    reporter: str = Field(alias="reporter.username")
    subject_id: int
    subject: str = Field(alias="subject.username")
    order_id: int | None
    reason: str
    text: str
    created_at: datetime
    handled_at: datetime | None
    handled_by_id: int | None


@router.post("/users/{user_id}/reports", response={201: ReportOut})
def file_report(request, user_id: Id, payload: ReportIn):
    """Report a user to support, about an order you share with them or in general."""
    reason, text = payload.reason, payload.text
    if payload.order_id is None:
        report = report_create(reporter=request.auth, subject_id=user_id, reason=reason, text=text)
    else:
        report = order_report(
            order_id=payload.order_id,
            reporter=request.auth,
            subject_id=user_id,
            reason=reason,
            text=text,
        )
    return Status(201, report)


def _require_support(request) -> None:
    if not request.auth.is_support:
        raise PermissionDenied("Reports are read by support agents.")


@router.get("/reports", response={200: list[ReportOut], **refusals(403)})
@paginate(Pagination)
def list_reports(request):
    """The report queue (support only): open reports first, oldest first."""
    _require_support(request)
    return reports_queue(handled=None)


@router.post("/reports/{report_id}/handled", response={200: ReportOut, **refusals(403)})
def handle_report(request, report_id: Id):
    """Mark a report as dealt with (support only)."""
    _require_support(request)
    report_handle(report_id=report_id, user=request.auth)
    return Report.objects.select_related("reporter", "subject").get(pk=report_id)
