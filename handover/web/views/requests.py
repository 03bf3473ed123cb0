"""Cancellation and dispute pages: ask to cancel (with the refund), answer or withdraw the
request, cancel a late order, open a dispute. Each calls the service its API endpoint calls;
the irreversible ones ask first."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from handover.disputes.services import dispute_open
from handover.lib.money import format_amount
from handover.orders import cancellation, services
from handover.web.amounts import amount_text
from handover.web.forms import AnswerForm, CancellationForm, DisputeForm
from handover.web.http import WebRequest
from handover.web.views.base import act, confirm, form_action, visible_order


def _data(request: WebRequest):
    return request.POST if request.method == "POST" else None


@login_required
@require_http_methods(["GET", "POST"])
def order_request_cancellation(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    form = CancellationForm(
        _data(request), order=order, initial={"refund": amount_text(order.total, order.currency)}
    )
    return form_action(
        request,
        order,
        action="request-cancellation",
        form=form,
        template="web/orders/request_cancellation.html",
        run=lambda data: cancellation.order_request_cancellation(
            order_id=order.pk, user=request.user, text=data["text"], refund=data["refund"]
        ),
        done="Cancellation requested. The other party can accept or decline it.",
        field="refund",
        refused="A cancellation cannot be requested on this order now.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_accept_cancellation(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.method == "POST":
        done = "You agreed: the order is cancelled and the refund is on its way to the buyer."
        return act(request, order, cancellation.order_accept_cancellation, done)
    refund = order.cancellation_refund or 0
    context = {
        "refund": format_amount(refund, order.currency),
        "seller_share": format_amount(order.total - refund, order.currency),
    }
    return confirm(
        request,
        order,
        "accept-cancellation",
        "web/orders/confirm_accept_cancellation.html",
        context,
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_decline_cancellation(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    return form_action(
        request,
        order,
        action="decline-cancellation",
        form=AnswerForm(_data(request)),
        template="web/orders/decline_cancellation.html",
        run=lambda data: cancellation.order_decline_cancellation(
            order_id=order.pk, user=request.user, text=data["text"]
        ),
        done="You declined the cancellation; the order goes on where it was.",
        field="text",
    )


@login_required
@require_POST
def order_withdraw_cancellation(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    done = "You withdrew your cancellation request; the order goes on where it was."
    return act(request, order, cancellation.order_withdraw_cancellation, done)


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel_late(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.method == "POST":
        done = "The late order is cancelled; your full payment is refunded."
        return act(request, order, services.order_cancel_late, done)
    return confirm(request, order, "cancel-late", "web/orders/confirm_cancel_late.html")


@login_required
@require_http_methods(["GET", "POST"])
def order_open_dispute(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    return form_action(
        request,
        order,
        action="open-dispute",
        form=DisputeForm(_data(request)),
        template="web/orders/open_dispute.html",
        run=lambda data: dispute_open(order_id=order.pk, user=request.user, text=data["text"]),
        done="Dispute opened. Support will read the order's record and decide.",
        field="text",
        refused="A dispute cannot be opened on this order now.",
    )
