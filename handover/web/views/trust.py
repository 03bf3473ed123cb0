"""Reviews and reports on an order: a party reviews the other once the order has ended
(double-blind, as ``POST /orders/{id}/review``), or reports them to support (as
``POST /users/{id}/reports``). Each calls the service its API endpoint calls."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from handover.accounts.models import User
from handover.lib.errors import HandoverError, InvalidInput
from handover.orders import feedback
from handover.orders.models import Order
from handover.orders.rules import REVIEWABLE, Actor, State, review_refusal
from handover.orders.selectors import order_reviews_for, viewer_role
from handover.trust.models import Review
from handover.web.forms import ReportForm, ReviewForm
from handover.web.http import WebRequest
from handover.web.views.base import back, visible_order

PARTIES = (Actor.BUYER, Actor.SELLER)


@dataclass(frozen=True)
class Reviews:
    """The order page's reviews panel, as ``GET /orders/{id}/reviews`` reads them."""

    shown: list[Review]
    hidden: list[str]  # roles whose review is in but not yet visible to the viewer
    window_ends_at: datetime | None
    may_review: bool
    waiting: bool  # the viewer's review is in, the other's not yet: theirs is hidden from them


def review_refused(order: Order, user: User, now: datetime) -> str | None:
    """Why ``user`` may not review ``order`` now (what ``order_review`` checks), or None."""
    if viewer_role(order, user) not in PARTIES:
        return "Only the order's buyer and seller review each other."
    refusal = review_refusal(
        state=State(order.state),
        taken_on=order.due_at is not None,
        closed_at=order.closed_at,
        now=now,
    )
    if refusal:
        return refusal
    if order.reviews.filter(author=user).exists():
        return "You have reviewed this order already."
    return None


def order_reviews(order: Order, user: User) -> Reviews | None:
    """The reviews panel for an ended order; None while it runs."""
    if order.state not in REVIEWABLE:
        return None
    now = timezone.now()
    shown, hidden, window_ends_at = order_reviews_for(order_id=order.pk, user=user, now=now)
    may_review = review_refused(order, user, now) is None
    waiting = len(shown) == 1 and shown[0].author_id == user.pk
    if waiting and window_ends_at is not None and now >= window_ends_at:
        waiting = False  # the window has ended: anyone may read it
    return Reviews(shown, hidden, window_ends_at, may_review, waiting)


def _data(request: WebRequest):
    return request.POST if request.method == "POST" else None


@login_required
@require_http_methods(["GET", "POST"])
def order_review(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    refusal = review_refused(order, request.user, timezone.now())
    if refusal:
        messages.error(request, refusal)
        return back(order)
    form = ReviewForm(_data(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            feedback.order_review(
                order_id=order.pk, user=request.user, rating=data["rating"], text=data["text"]
            )
        except InvalidInput as error:
            form.add_error("rating" if error.code == "bad_rating" else "text", error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return back(order)
        else:
            messages.success(request, "Thank you: your review is in.")
            return back(order, "#reviews")
    context = {"order": order, "form": form, "other": _other(order, request.user)}
    status = 422 if form.errors else 200
    return render(request, "web/orders/review.html", context, status=status)


def _other(order: Order, user: User) -> User:
    return order.seller if user.pk == order.buyer_id else order.buyer


@login_required
@require_http_methods(["GET", "POST"])
def order_report(request: WebRequest, order_id: int) -> HttpResponse:
    """Report the order's other party to support; the form asks before it sends."""
    order = visible_order(request, order_id)
    if viewer_role(order, request.user) not in PARTIES:
        messages.error(request, "Only the order's buyer and seller report each other.")
        return back(order)
    other = _other(order, request.user)
    form = ReportForm(_data(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            feedback.order_report(
                order_id=order.pk,
                reporter=request.user,
                subject_id=other.pk,
                reason=data["reason"],
                text=data["text"],
            )
        except InvalidInput as error:
            form.add_error("reason" if error.code == "bad_reason" else "text", error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return back(order)
        else:
            messages.success(
                request, f"Your report about {other.username} is with support. Thank you."
            )
            return back(order)
    context = {"order": order, "form": form, "other": other}
    status = 422 if form.errors else 200
    return render(request, "web/orders/report.html", context, status=status)
