"""The support desk's orders: the search, the support view of one order, and the actions
support may take there (confirm a transfer, record a chargeback and its outcome, settle a
cancellation request, open a dispute for a party). Each action asks for a rationale, which
goes on the order's record as the event's ``text``; those that move money or end something ask again
before they run. An action is offered, and taken, only where the transition table allows it
(``orders.selectors.support_actions``)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from handover.accounts.models import User
from handover.billing.chargebacks import (
    chargeback_outcome_record,
    chargeback_record,
    disputes_of,
    open_dispute_of,
    seller_note_of,
    submit_at,
)
from handover.billing.evidence import evidence_submit
from handover.disputes.selectors import order_timeline
from handover.disputes.services import dispute_open
from handover.ledger.services import order_shares
from handover.lib.errors import HandoverError, InvalidInput
from handover.lib.money import format_amount
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.orders.selectors import (
    cancellations_past_window,
    manual_payments_waiting,
    orders_matching,
    orders_visible_to,
    parties_for_dispute,
    support_actions,
    viewer_role,
)
from handover.web.display import order_timers
from handover.web.http import WebRequest
from handover.web.support_forms import (
    ChargebackForm,
    ConfirmPaymentForm,
    OpenDisputeForm,
    OrderSearchForm,
    RationaleForm,
    SettleCancellationForm,
    Waiting,
)
from handover.web.templatetags.handover_web import state_label
from handover.web.timeline import timeline_days
from handover.web.views.orders import _chat_context, _delivery_rows
from handover.web.views.support import support_only

ORDERS_PER_PAGE = 25
logger = logging.getLogger(__name__)


# --- the search ------------------------------------------------------------------------------


def _filtered(orders: QuerySet[Order], data: dict[str, Any]) -> QuerySet[Order]:
    if data["q"]:
        orders = orders.filter(orders_matching(data["q"]))
    if data["state"]:
        orders = orders.filter(state=data["state"])
    if data["waiting"] == Waiting.PAYMENT:
        orders = orders.filter(pk__in=manual_payments_waiting().values("pk"))
    elif data["waiting"] == Waiting.CANCELLATION:
        orders = orders.filter(pk__in=cancellations_past_window(timezone.now()).values("pk"))
    if data["placed_from"]:
        orders = orders.filter(created_at__date__gte=data["placed_from"])
    if data["placed_to"]:
        orders = orders.filter(created_at__date__lte=data["placed_to"])
    return orders


@support_only
@require_GET
def order_search(request: WebRequest) -> HttpResponse:
    """Every order, newest first, narrowed by the search form; a bad field shows its error
    and finds nothing."""
    form = OrderSearchForm(request.GET)
    orders = Order.objects.select_related("offer", "buyer", "seller")
    status = 200
    if form.is_valid():
        orders = _filtered(orders, form.cleaned_data)
    else:
        orders, status = orders.none(), 422
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "searched": any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "web/support/orders.html", context, status=status)


# --- one order -------------------------------------------------------------------------------


def _support_order(request: WebRequest, order_id: int) -> Order:
    order = orders_visible_to(request.user).select_related("offer").filter(pk=order_id).first()
    if order is None:
        raise Http404("No such order.")
    return order


def _actions(request: WebRequest, order: Order) -> list[str]:
    """Support's actions on the order now; none for an agent who is one of its parties."""
    if viewer_role(order, request.user) != Actor.SUPPORT:
        return []
    return support_actions(order)


def _back(order: Order) -> HttpResponse:
    return redirect(reverse("web:support_order", args=[order.pk]))


@support_only
@require_GET
def order_detail(request: WebRequest, order_id: int) -> HttpResponse:
    """The order as support reads it: the facts, what waits, the record, and the actions."""
    order = _support_order(request, order_id)
    now = timezone.now()
    role = viewer_role(order, request.user)
    items = order_timeline(order, viewer=request.user)
    context = {
        "order": order,
        "role": role,
        "actions": _actions(request, order),
        "timers": order_timers(order, now),
        "past_window": order.state == State.CANCELLATION_REQUESTED
        and order.timer_at is not None
        and order.timer_at <= now,
        "disputes": order.disputes.select_related("assigned_to").order_by("-opened_at"),
        "deliveries": _delivery_rows(order, role),
        "days": timeline_days(items, timezone.get_current_timezone(), currency=order.currency),
        **_chat_context(order, None, role),
        "chargebacks": [
            (row, submit_at(row), seller_note_of(row)) for row in disputes_of(order.pk)
        ],
    }
    return render(request, "web/support/order.html", context)


@support_only
@require_http_methods(["POST"])
def chargeback_submit(request: WebRequest, order_id: int) -> HttpResponse:
    """Send the answer to the order's open Stripe dispute now, before its cut-off (it is
    sent once)."""
    order = _support_order(request, order_id)
    row = open_dispute_of(order)
    if row is None or row.provider != "stripe":
        messages.error(request, "No Stripe dispute waits for an answer on this order.")
        return _back(order)
    try:
        sent = evidence_submit(dispute_pk=row.pk)
    except Exception:
        logger.exception("could not answer dispute %s", row.dispute_id)
        messages.error(request, "Stripe did not take the answer; the worker tries again.")
        return _back(order)
    if sent:
        messages.success(request, f"The answer to {row.dispute_id} was sent to the bank.")
    else:
        messages.error(request, "That answer was sent already, or the dispute is closed.")
    return _back(order)


# --- the actions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportAction:
    slug: str
    title: str
    form: Callable[..., RationaleForm]  # (order, **form kwargs)
    run: Callable[[Order, User, dict[str, Any]], Any]
    done: Callable[[Order, dict[str, Any]], str]
    confirm: bool  # it moves money or ends something: ask again before it runs
    button: str  # the form's button

    def url(self, order: Order) -> str:
        return reverse("web:support_" + self.slug.replace("-", "_"), args=[order.pk])


def _confirm_payment(order: Order, user: User, data: dict[str, Any]) -> Any:
    return services.order_confirm_payment(
        order_id=order.pk, user=user, reference=data["reference"], text=data["text"]
    )


def _chargeback_step(service: Callable[..., Any]) -> Callable[[Order, User, dict], Any]:
    def run(order: Order, user: User, data: dict[str, Any]) -> Any:
        return service(order_id=order.pk, user=user, reference=data["reference"], text=data["text"])

    return run


def _settle(order: Order, user: User, data: dict[str, Any]) -> Any:
    return cancellation.order_settle_cancellation(
        order_id=order.pk, user=user, accept=data["outcome"] == "accept", text=data["text"]
    )


def _open_dispute(order: Order, user: User, data: dict[str, Any]) -> Any:
    return dispute_open(
        order_id=order.pk,
        user=user,
        text=data["reason"],
        for_party=Actor(data["party"]),
        rationale=data["text"],
    )


def _settled(order: Order, data: dict[str, Any]) -> str:
    if data["outcome"] == "accept":
        refund = format_amount(order.cancellation_refund or 0, order.currency)
        return f"Cancellation accepted: the order is cancelled and the buyer gets {refund} back."
    return "Cancellation request declined: the order goes on where it was."


ACTIONS: dict[str, SupportAction] = {
    "confirm-payment": SupportAction(
        "confirm-payment",
        "Confirm the transfer",
        lambda order, **kw: ConfirmPaymentForm(order=order, **kw),
        _confirm_payment,
        lambda order, data: "Transfer confirmed: the money is held in escrow.",
        confirm=True,
        button="Review the confirmation",
    ),
    "chargeback": SupportAction(
        "chargeback",
        "Record a chargeback",
        lambda order, **kw: ChargebackForm(order=order, **kw),
        _chargeback_step(chargeback_record),
        lambda order, data: (
            "Chargeback recorded: the order is on hold, its money taken back and its "
            "originals locked until the bank decides."
        ),
        confirm=True,
        button="Review the chargeback",
    ),
    "chargeback-won": SupportAction(
        "chargeback-won",
        "Record the chargeback as won",
        lambda order, **kw: ChargebackForm(order=order, **kw),
        _chargeback_step(partial(chargeback_outcome_record, won=True)),
        lambda order, data: "Chargeback won: the money is back and the order goes on.",
        confirm=True,
        button="Review the outcome",
    ),
    "chargeback-lost": SupportAction(
        "chargeback-lost",
        "Record the chargeback as lost",
        lambda order, **kw: ChargebackForm(order=order, **kw),
        _chargeback_step(partial(chargeback_outcome_record, won=False)),
        lambda order, data: "Chargeback lost: the order is charged back.",
        confirm=True,
        button="Review the outcome",
    ),
    "settle-cancellation": SupportAction(
        "settle-cancellation",
        "Settle the cancellation request",
        lambda order, **kw: SettleCancellationForm(order=order, **kw),
        _settle,
        _settled,
        confirm=True,
        button="Review the settlement",
    ),
    "open-dispute": SupportAction(
        "open-dispute",
        "Open a dispute for a party",
        lambda order, **kw: OpenDisputeForm(order=order, parties=parties_for_dispute(order), **kw),
        _open_dispute,
        lambda order, data: f"Dispute opened for the {data['party']}. It waits in the queue.",
        confirm=False,
        button="Open the dispute",
    ),
}


def _error_field(form: RationaleForm, error: InvalidInput) -> str | None:
    """The field a service's refusal of the input is about (its message names it)."""
    words = {
        "payment reference": "reference",
        "reference": "reference",
        "reason": "reason",
        "party": "party",
    }
    for word, field in words.items():
        if word in error.detail and field in form.fields:
            return field
    return "text"


def _action_page(
    request: WebRequest, order: Order, action: SupportAction, form: RationaleForm, status: int = 200
) -> HttpResponse:
    context = {"order": order, "action": action, "form": form, "post_url": action.url(order)}
    return render(request, "web/support/action.html", context, status=status)


def _confirm_page(
    request: WebRequest, order: Order, action: SupportAction, form: RationaleForm
) -> HttpResponse:
    """What the action does, money and all, and the same form again to confirm it."""
    data = form.cleaned_data
    context = {
        "order": order,
        "action": action,
        "data": data,
        "fields": form.confirmed_fields(),
        "post_url": action.url(order),
        "chargeback": order.total - order.refunded,
    }
    if action.slug == "settle-cancellation" and data["outcome"] == "accept":
        context["moves"] = order_shares(order, order.cancellation_refund or 0)
    if order.return_state:
        context["return_state"] = state_label(order.return_state).lower()
    if order.chargeback_return_state:
        context["chargeback_return_state"] = state_label(order.chargeback_return_state).lower()
    return render(request, "web/support/confirm_action.html", context)


@support_only
@require_http_methods(["GET", "POST"])
def order_action(request: WebRequest, order_id: int, slug: str) -> HttpResponse:
    """One support action: its form, its confirmation where it needs one, then the service.
    Bad input and a move the order no longer allows show on the form and change nothing."""
    order = _support_order(request, order_id)
    action = ACTIONS[slug]
    allowed = slug in _actions(request, order)
    if request.method == "GET":
        if not allowed:
            messages.error(request, f"{action.title} is not possible on this order now.")
            return _back(order)
        return _action_page(request, order, action, action.form(order))
    form = action.form(order, data=request.POST)
    if not allowed:
        form.is_valid()
        state = state_label(order.state).lower()
        form.add_error(None, f"{action.title} is not possible while the order is {state}.")
        return _action_page(request, order, action, form, status=409)
    if not form.is_valid():
        return _action_page(request, order, action, form, status=422)
    if "change" in request.POST:
        return _action_page(request, order, action, action.form(order, initial=form.cleaned_data))
    if action.confirm and request.POST.get("confirm") != "yes":
        return _confirm_page(request, order, action, form)
    return _run(request, order, action, form)


def _run(
    request: WebRequest, order: Order, action: SupportAction, form: RationaleForm
) -> HttpResponse:
    data = form.cleaned_data
    try:
        action.run(order, request.user, data)
    except InvalidInput as error:
        form.add_error(_error_field(form, error), error.detail)
        return _action_page(request, order, action, form, status=422)
    except HandoverError as error:
        form.add_error(None, error.detail)
        return _action_page(request, order, action, form, status=409)
    messages.success(request, action.done(order, data))
    return _back(order)
