"""The order pages. Each view finds the order as the API does (``orders_visible_to``: a
stranger gets 404), calls the one service the matching API endpoint calls, and renders."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from handover.billing.chargebacks import note_refusal, open_dispute_of, seller_note_of, submit_at
from handover.billing.payins import payment_failure
from handover.delivery.models import Delivery
from handover.delivery.services import buyer_may_take_originals, originals_refusal
from handover.delivery.serving import attachment_served
from handover.disputes.selectors import order_timeline
from handover.ledger.rules import shares
from handover.lib.errors import HandoverError, InvalidInput, NotFound
from handover.lib.money import amount_step
from handover.orders import services
from handover.orders.models import Attachment, Order
from handover.orders.rules import RELEASE_ENDED, Actor, State
from handover.orders.selectors import orders_visible_to, viewer_role
from handover.payments.models import RefundState
from handover.payments.selectors import refunds_of_order
from handover.records.bundle import bundle_served
from handover.trust.selectors import user_record
from handover.web.attachments import upload_claim, upload_refusal_show
from handover.web.display import order_timers
from handover.web.forms import AutoCompleteForm, MessageForm, OrderForm, RevisionForm
from handover.web.http import WebRequest
from handover.web.timeline import timeline_days
from handover.web.views.base import act, back, confirm, order_actions, visible_order
from handover.web.views.trust import order_reviews

ORDERS_PER_PAGE = 20
ENDED_WITHOUT_ORIGINALS = frozenset({State.CANCELLED, State.CHARGEBACK_HOLD, State.CHARGED_BACK})
ANSWERS = frozenset(
    {
        "accept-order",
        "decline-order",
        "accept-cancellation",
        "decline-cancellation",
        "withdraw-cancellation",
    }
)


@login_required
@require_GET
def order_list(request: WebRequest) -> HttpResponse:
    """The orders the viewer bought, newest first."""
    orders = orders_visible_to(request.user).filter(buyer=request.user).select_related("offer")
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/orders/list.html", {"orders": page, "selling": False})


@login_required
@require_GET
def sale_list(request: WebRequest) -> HttpResponse:
    """The orders placed with the viewer as seller, newest first."""
    orders = orders_visible_to(request.user).filter(seller=request.user).select_related("offer")
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/orders/list.html", {"orders": page, "selling": True})


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    originals_released: bool  # to the buyer (the seller and support always have them)
    may_release_early: bool  # the seller may still release this delivery's originals early
    # The requirement questions it answers, each with the note and the files ticked for it.
    answered: list[tuple[str, str, list[str]]]


def _delivery_rows(order: Order, role: Actor) -> list[DeliveryRow]:
    deliveries = order.deliveries.prefetch_related("files__preview_parts", "checklist__files")
    questions = [item.get("question", "") for item in order.requirements]
    return [
        DeliveryRow(
            delivery,
            buyer_may_take_originals(order, delivery),
            role == Actor.SELLER
            and order.state not in RELEASE_ENDED
            and not delivery.released_early_at,
            [
                (
                    questions[item.requirement] if item.requirement < len(questions) else "",
                    item.note,
                    [f.name for f in item.files.all()],
                )
                for item in delivery.checklist.all()
            ],
        )
        for delivery in deliveries
    ]


def _order_page(
    request: WebRequest, order: Order, *, message_form: MessageForm | None = None, status: int = 200
) -> HttpResponse:
    role = viewer_role(order, request.user)
    deliveries = _delivery_rows(order, role)
    record = None
    if role == Actor.SELLER and order.state == State.AWAITING_ACCEPTANCE:
        record = user_record(order.buyer)  # what the API shows as buyer_record
    actions = order_actions(request, order)
    context = {
        "order": order,
        "role": role,
        "actions": actions,
        # Those not offered beside the buyer's record or the cancellation request.
        "panel_actions": actions - ANSWERS,
        "timers": order_timers(order, timezone.now()),
        "auto_complete_after": settings.HANDOVER_AUTO_COMPLETE_AFTER,
        "deliveries": deliveries,
        "buyer_record": record,
        "originals_locked": role == Actor.BUYER
        and order.state not in RELEASE_ENDED
        and any(not row.originals_released for row in deliveries),
        # Why a refunded or charged-back order's originals are not the buyer's.
        "originals_ended": originals_refusal(order)
        if role == Actor.BUYER and deliveries and order.state in ENDED_WITHOUT_ORIGINALS
        else "",
        "requested_by_viewer": order.cancellation_requested_by == role,
        **_chargeback_context(order, role),
        "answered": _answers_with_files(order),
        "earnings": _earnings(order),
        **_payment_context(request, order, role),
        "refund_status": _refund_status(order) if order.refunded else "",
        **_chat_context(order, message_form, role),
        **_record_context(request, order),
    }
    return render(request, "web/orders/detail.html", context, status=status)


def _payment_context(request: WebRequest, order: Order, role: Actor) -> dict[str, Any]:
    """For the buyer of a card order awaiting payment: why the last payment failed, and
    whether one was just confirmed in the browser (the page then polls until Stripe's
    webhook has started the order)."""
    if role != Actor.BUYER or order.state != State.PENDING_PAYMENT:
        return {}
    if order.payment_provider != "stripe":
        return {}
    failure = payment_failure(order)
    return {
        "payment_failure": failure,
        "payment_confirming": "paying" in request.GET and not failure,
    }


# Where the buyer's refund is, worst first: one delayed refund makes the whole one delayed.
_REFUND_WORDS = {
    RefundState.FAILED: "Delayed: support is on it",
    RefundState.PENDING: "On its way to you",
    RefundState.SUCCEEDED: "Sent",
}


def _refund_status(order: Order) -> str:
    """Where the money refunded on the order is, as the payment provider last said."""
    states = {refund.state for refund in refunds_of_order(order.pk)}
    return next((words for state, words in _REFUND_WORDS.items() if state in states), "")


@dataclass(frozen=True)
class Earnings:
    """What the seller is paid for the order, as the ledger settles it."""

    seller: int
    fee: int  # what the platform keeps of the price; shown when nothing is refunded


def _earnings(order: Order) -> Earnings:
    # The ledger's own split (what settlement posts), with what has been refunded so far.
    seller = shares(
        total=order.total,
        price=order.price,
        seller_fee=order.seller_fee,
        refund=order.refunded,
        step=amount_step(order.currency),
    ).seller
    return Earnings(seller=seller, fee=order.price - seller)


def _record_context(request: WebRequest, order: Order) -> dict[str, Any]:
    """The order's timeline (as ``order_timeline`` shows it to the viewer) and reviews."""
    items = order_timeline(order, viewer=request.user)
    return {
        "days": timeline_days(items, timezone.get_current_timezone(), currency=order.currency),
        "reviews": order_reviews(order, request.user),
        # Whom the viewer would report, when a party.
        "other": order.seller if request.user.pk == order.buyer_id else order.buyer,
    }


def _answers_with_files(order: Order) -> list[tuple[dict[str, str], list[Attachment]]]:
    """Each requirement with the reference files the buyer sent for it."""
    files: dict[int, list[Attachment]] = {}
    for attachment in order.attachments.filter(requirement__isnull=False):
        files.setdefault(attachment.requirement or 0, []).append(attachment)
    return [(item, files.get(index, [])) for index, item in enumerate(order.requirements)]


def _chat_context(order: Order, form: MessageForm | None, role: Actor) -> dict[str, Any]:
    # Only the buyer attaches files: a seller's work goes to the buyer as a delivery.
    attach = role == Actor.BUYER
    return {
        "order": order,
        "chat": order.messages.select_related("author").prefetch_related(
            Prefetch("attachments", Attachment.objects.order_by("id"))
        ),
        "message_form": form or MessageForm(attach=attach),
    }


@login_required
@require_GET
def order_detail(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.htmx and "paying" in request.GET:
        return _payment_poll(request, order)
    return _order_page(request, order)


def _payment_poll(request: WebRequest, order: Order) -> HttpResponse:
    """The answer to the page's poll while a card payment is being confirmed: nothing yet
    (204, htmx swaps nothing), or reload the page once the order moved or the payment failed."""
    if _payment_context(request, order, viewer_role(order, request.user)).get("payment_confirming"):
        return HttpResponse(status=204)
    response = HttpResponse()
    response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def order_evidence(request: WebRequest, order_id: int) -> HttpResponseBase:
    """The order's evidence bundle, as ``GET /orders/{id}/evidence`` serves it."""
    order = visible_order(request, order_id)
    try:
        return bundle_served(order_id=order.pk, user=request.user)
    except HandoverError as error:
        messages.error(request, error.detail)
        return back(order)


@login_required
@require_POST
def order_pay(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    try:
        result = services.order_pay(
            order_id=order.pk,
            user=request.user,
            address=request.META.get("REMOTE_ADDR", ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except HandoverError as error:
        messages.error(request, error.detail)
        return back(order)
    paid: Order = result["order"]
    if result["client_secret"]:
        return _card_form(request, paid, result["client_secret"])
    if result["instructions"]:
        messages.info(request, result["instructions"])
    elif paid.state == State.AWAITING_ACCEPTANCE:
        messages.success(request, "Paid. Your money is held in escrow until the seller accepts.")
    else:
        messages.success(request, "Paid. Your money is held in escrow; the seller has started.")
    return back(order)


def _card_form(request: WebRequest, order: Order, client_secret: str) -> HttpResponse:
    """The card form: Stripe.js confirms the order's PaymentIntent in the buyer's browser."""
    api_base = settings.HANDOVER_STRIPE_API_BASE
    context = {
        "order": order,
        "client_secret": client_secret,
        "publishable_key": settings.HANDOVER_STRIPE_PUBLISHABLE_KEY,
        # localstripe and other test servers serve their Stripe.js at this path.
        "stripe_js": f"{api_base}/js.stripe.com/v3/" if api_base else "https://js.stripe.com/v3/",
        "failure": payment_failure(order),
    }
    return render(request, "web/orders/pay.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_abandon(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.method == "POST":
        return act(request, order, services.order_abandon, "The unpaid order is cancelled.")
    return confirm(request, order, "abandon", "web/orders/confirm_abandon.html")


@login_required
@require_http_methods(["GET", "POST"])
def order_accept(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if request.method == "POST":
        done = "You accepted the delivery: the originals are yours and the seller is paid."
        return act(request, order, services.order_accept, done)
    return confirm(request, order, "accept", "web/orders/confirm_accept.html")


@login_required
@require_http_methods(["GET", "POST"])
def order_request_revision(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if "request-revision" not in order_actions(request, order):
        messages.error(request, "A revision cannot be requested on this order now.")
        return back(order)
    form = RevisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_request_revision(
                order_id=order.pk, user=request.user, text=form.cleaned_data["text"]
            )
        except InvalidInput as error:
            form.add_error("text", error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return back(order)
        else:
            messages.success(request, "Revision requested. The seller will deliver again.")
            return back(order)
    status = 422 if form.errors else 200
    context = {"order": order, "form": form}
    return render(request, "web/orders/request_revision.html", context, status=status)


@login_required
@require_POST
def order_auto_complete(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    form = AutoCompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether auto-complete is on or off.")
        return back(order)
    enabled = form.cleaned_data["enabled"]
    done = "Auto-complete is on." if enabled else "Auto-complete is off for this order."
    return act(request, order, services.order_set_auto_complete, done, enabled=enabled)


@login_required
@require_POST
def message_post(request: WebRequest, order_id: int) -> HttpResponse:
    """A chat message, with the buyer's reference files (already in storage: the upload
    streamed them, ``api.uploads.UploadMiddleware``)."""
    order = visible_order(request, order_id)
    role = viewer_role(order, request.user)
    form = MessageForm(request.POST, request.FILES, attach=role == Actor.BUYER)
    refused = upload_refusal_show(request, form)
    if refused is None and form.is_valid():
        try:
            message = services.message_post(
                order_id=order.pk,
                user=request.user,
                text=form.cleaned_data["text"],
                files=form.cleaned_data.get("files") or [],
            )
        except HandoverError as error:
            form.add_error("files" if error.code == "too_many_files" else "text", error.detail)
        else:
            upload_claim(request, message.attachments.all())
            if request.htmx:
                return render(request, "web/orders/_chat.html", _chat_context(order, None, role))
            return back(order, "#chat")
    status = refused.status if refused else 422
    if request.htmx:
        context = _chat_context(order, form, role)
        return render(request, "web/orders/_chat.html", context, status=status)
    return _order_page(request, order, message_form=form, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def order_answers(request: WebRequest, order_id: int) -> HttpResponse:
    """The buyer changes the answers and adds reference files to them, until paying; the
    files arrive already in storage (``api.uploads.UploadMiddleware``)."""
    order = visible_order(request, order_id)
    if viewer_role(order, request.user) != Actor.BUYER or order.state != State.PENDING_PAYMENT:
        messages.error(request, "The answers can be changed only by the buyer, until paying.")
        return back(order)
    questions = [item["question"] for item in order.requirements]
    if request.method != "POST":
        initial = {f"answer_{i}": item["answer"] for i, item in enumerate(order.requirements)}
        return _answers_page(request, order, OrderForm(initial=initial, questions=questions))
    form = OrderForm(request.POST, request.FILES, questions=questions)
    refused = upload_refusal_show(request, form)
    if refused is None and form.is_valid():
        try:
            services.order_update_answers(
                order_id=order.pk,
                user=request.user,
                answers=form.answers(),
                files=form.files_by_answer(),
            )
        except HandoverError as error:
            form.add_error(None, error.detail)
        else:
            upload_claim(request, order.attachments.all())
            messages.success(request, "Your answers are saved.")
            return back(order)
    return _answers_page(request, order, form, status=refused.status if refused else 422)


def _answers_page(
    request: WebRequest, order: Order, form: OrderForm, status: int = 200
) -> HttpResponse:
    context = {"order": order, "form": form, "answered": _answers_with_files(order)}
    return render(request, "web/orders/answers.html", context, status=status)


@login_required
@require_GET
def attachment_download(request: WebRequest, order_id: int, attachment_id: int) -> HttpResponseBase:
    """A reference file the buyer sent: both parties (and support) have it whole at once."""
    try:
        return attachment_served(
            request, order_id=order_id, attachment_id=attachment_id, user=request.user
        )
    except NotFound:
        raise Http404("No such file.") from None


def _chargeback_context(order: Order, role: Actor) -> dict[str, Any]:
    """While the bank decides a chargeback: the seller's note and when the answer goes."""
    if order.state != State.CHARGEBACK_HOLD:
        return {}
    row = open_dispute_of(order)
    return {
        "chargeback": row,
        # Only the seller is shown it (evidence.visibility keeps it from the buyer).
        "chargeback_note": seller_note_of(row) if row and role == Actor.SELLER else "",
        "chargeback_submit_at": submit_at(row) if row else None,
        "chargeback_note_open": role == Actor.SELLER and note_refusal(row, timezone.now()) is None,
    }
