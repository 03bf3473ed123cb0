"""The seller's moves on an order: take on or turn down an order that waited for them, grant
one more revision, and release a delivery's originals early. Each calls the service its API
endpoint calls."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from handover.delivery.services import delivery_release_early
from handover.lib.errors import HandoverError, NotFound
from handover.orders import services
from handover.orders.rules import RELEASE_ENDED, Actor
from handover.orders.selectors import viewer_role
from handover.web.http import WebRequest
from handover.web.views.base import act, back, confirm, visible_order


@login_required
@require_POST
def order_accept_order(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    done = "You accepted the order. The delivery time starts now."
    return act(request, order, services.order_accept_order, done)


@login_required
@require_http_methods(["GET", "POST"])
def order_decline_order(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.method == "POST":
        done = "You declined the order; the buyer gets their payment back."
        return act(request, order, services.order_decline_order, done)
    return confirm(request, order, "decline-order", "web/orders/confirm_decline_order.html")


@login_required
@require_http_methods(["GET", "POST"])
def order_grant_revision(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if order.revisions_left > 0 and viewer_role(order, request.user) == Actor.SELLER:
        # The API grants at any time; the page offers it once the included ones are used.
        messages.error(request, "The buyer has revisions left: grant one once they are used.")
        return back(order)
    if request.method == "POST":
        done = "You granted one more revision: the buyer may ask for it."
        return act(request, order, services.order_grant_revision, done)
    return confirm(request, order, "grant-revision", "web/orders/confirm_grant_revision.html")


@login_required
@require_http_methods(["GET", "POST"])
def delivery_release(request: WebRequest, order_id: int, delivery_id: int) -> HttpResponse:
    """The warning page, then the release of one delivery's originals before completion."""
    order = visible_order(request, order_id)
    delivery = order.deliveries.filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery on this order.")
    if request.method == "POST":
        try:
            delivery_release_early(order_id=order.pk, user=request.user, delivery_id=delivery.pk)
        except NotFound:
            raise Http404("No such delivery on this order.") from None
        except HandoverError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, "The originals of this delivery are released to the buyer.")
        return back(order)
    if (
        viewer_role(order, request.user) != Actor.SELLER
        or order.state in RELEASE_ENDED
        or delivery.released_early_at is not None
    ):
        messages.error(request, "That is not possible on this order now.")
        return back(order)
    context = {"order": order, "delivery": delivery, "files": delivery.files.all()}
    return render(request, "web/orders/confirm_release_early.html", context)
