"""What every order view does: find the order as the API does (``orders_visible_to``: a
stranger gets 404), ask the transition table what the viewer may do, run one service and
turn its refusal into a message."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from handover.lib.errors import HandoverError, InvalidInput
from handover.orders.models import Order
from handover.orders.selectors import available_actions, orders_visible_to, viewer_role
from handover.web.http import WebRequest

# The actions the pages offer (API slugs, as ``available_actions`` names them).
WEB_ACTIONS = frozenset(
    {
        "pay",
        "abandon",
        "accept-order",
        "decline-order",
        "deliver",
        "accept",
        "request-revision",
        "cancel-late",
        "request-cancellation",
        "accept-cancellation",
        "decline-cancellation",
        "withdraw-cancellation",
        "open-dispute",
        "auto-complete",
        "grant-revision",
    }
)


def visible_order(request: WebRequest, order_id: int) -> Order:
    order = orders_visible_to(request.user).select_related("offer").filter(pk=order_id).first()
    if order is None:
        raise Http404("No such order.")
    return order


def order_actions(request: WebRequest, order: Order) -> set[str]:
    """What the viewer may do now, from the transition table (as the API's ``actions``)."""
    actions = set(available_actions(order, viewer_role(order, request.user))) & WEB_ACTIONS
    if order.revisions_left > 0:
        actions.discard("grant-revision")  # allowed, but offered once the included are used
    return actions


def back(order: Order, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:order", args=[order.pk]) + anchor)


def act(
    request: WebRequest, order: Order, service: Callable[..., Any], done: str, **params: Any
) -> HttpResponse:
    """Run one order service; a refusal (the order moved on, say) becomes a message."""
    try:
        service(order_id=order.pk, user=request.user, **params)
    except HandoverError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, done)
    return back(order)


def confirm(
    request: WebRequest,
    order: Order,
    action: str,
    template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page that asks before an irreversible action."""
    if action not in order_actions(request, order):
        messages.error(request, "That is not possible on this order now.")
        return back(order)
    return render(request, template, {"order": order, **(context or {})})


def form_action(
    request: WebRequest,
    order: Order,
    *,
    action: str,
    form: Any,
    template: str,
    run: Callable[[dict[str, Any]], Any],
    done: str,
    field: str,
    refused: str = "That is not possible on this order now.",
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """An action that takes a form: the form's errors and the service's input errors show
    beside the field; a refusal of the move itself goes back to the order with a message."""
    if action not in order_actions(request, order):
        messages.error(request, refused)
        return back(order)
    if request.method == "POST" and form.is_valid():
        try:
            run(form.cleaned_data)
        except InvalidInput as error:
            form.add_error(field, error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return back(order)
        else:
            messages.success(request, done)
            return back(order)
    status = 422 if form.errors else 200
    return render(
        request, template, {"order": order, "form": form, **(context or {})}, status=status
    )
