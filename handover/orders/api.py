from datetime import datetime

from django.db.models import BooleanField, Value
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from handover.api.errors import refusals
from handover.api.pagination import PageParams, Pagination, page
from handover.evidence.models import Event
from handover.evidence.visibility import SUPPORT_ONLY_TYPES, payload_for, reads_as_support
from handover.lib.bounds import Id, StrictId
from handover.orders import services
from handover.orders.models import Message, Order
from handover.orders.rules import Actor, State
from handover.orders.selectors import (
    available_actions,
    order_visible,
    orders_visible_to,
    timer_action,
    viewer_role,
)
from handover.trust.selectors import user_record

router = Router()


class OrderIn(Schema):
    offer_id: StrictId
    answers: list[str] = []


class AnswersIn(Schema):
    answers: list[str]


class CancellationOut(Schema):
    requested_by: str
    text: str
    refund: int


class OrderOut(Schema):
    id: int
    state: str
    offer_id: int
    buyer_id: int
    buyer: str
    seller_id: int
    seller: str
    currency: str
    price: int
    buyer_fee: int
    seller_fee: int
    total: int
    refunded: int
    requirements: list[dict[str, str]]
    terms_version: int
    terms_sha256: str
    delivery_days: int
    revisions_included: int
    revisions_left: int
    auto_complete: bool
    requires_acceptance: bool
    payment_provider: str
    payment_reference: str
    created_at: datetime
    paid_at: datetime | None
    due_at: datetime | None
    last_delivered_at: datetime | None
    closed_at: datetime | None
    clears_at: datetime | None
    timer_at: datetime | None
    timer_action: str | None
    # Why auto-complete waits on a delivered order: "pending" (previews are being made),
    # "failed" (one could not be made: the buyer accepts, or the seller releases), or "".
    preview_hold: str
    cancellation: CancellationOut | None
    role: str
    actions: list[str]
    payment_instructions: str = ""
    # For the seller of an order awaiting acceptance: who is asking (see trust.selectors).
    buyer_record: dict | None = None


def order_out(order: Order, request, *, with_record: bool = False, **extra) -> dict:
    role = viewer_role(order, request.auth)
    if with_record and role == Actor.SELLER and order.state == State.AWAITING_ACCEPTANCE:
        # A few queries for this one order; lists leave it out and stay constant.
        extra["buyer_record"] = user_record(order.buyer).as_dict()
    cancellation = None
    if order.cancellation_requested_by:
        cancellation = {
            "requested_by": order.cancellation_requested_by,
            "text": order.cancellation_reason,
            "refund": order.cancellation_refund,
        }
    fields = {f: getattr(order, f) for f in OrderOut.model_fields if hasattr(order, f)}
    fields.update(
        buyer=order.buyer.username,
        seller=order.seller.username,
        terms_version=order.terms.version,
        timer_action=timer_action(order),
        cancellation=cancellation,
        role=role.value,
        actions=available_actions(order, role),
        **extra,
    )
    return fields


def order_answer(request, order_id: int, **extra) -> dict:
    """The order as its detail route shows it, for a route that changed it."""
    return order_out(
        order_visible(order_id=order_id, user=request.auth), request, with_record=True, **extra
    )


@router.post("", response={201: OrderOut})
def create_order(request, payload: OrderIn):
    order = services.order_place(
        buyer=request.auth, offer_id=payload.offer_id, answers=payload.answers
    )
    return Status(201, order_out(order, request))


class OrderPage(Schema):
    items: list[OrderOut]
    count: int


@router.get("", response=OrderPage)
def list_orders(
    request, params: Query[PageParams], state: str | None = None, role: str | None = None
):
    orders = orders_visible_to(request.auth)
    if role == "buyer":
        orders = orders.filter(buyer=request.auth)
    elif role == "seller":
        orders = orders.filter(seller=request.auth)
    if state:
        orders = orders.filter(state=state)
    return page(orders, params, lambda order: order_out(order, request))


@router.get("/{order_id}", response=OrderOut)
def get_order(request, order_id: Id):
    return order_out(order_visible(order_id=order_id, user=request.auth), request, with_record=True)


@router.put("/{order_id}/answers", response={200: OrderOut, **refusals(409)})
def update_answers(request, order_id: Id, payload: AnswersIn):
    order = services.order_update_answers(
        order_id=order_id, user=request.auth, answers=payload.answers
    )
    return order_out(order, request)


@router.post("/{order_id}/pay", response=OrderOut)
def pay(request, order_id: Id):
    result = services.order_pay(order_id=order_id, user=request.auth)
    return order_out(result["order"], request, payment_instructions=result["instructions"])


class ReferenceIn(Schema):
    reference: str = ""


@router.post("/{order_id}/confirm-payment", response=OrderOut)
def confirm_payment(request, order_id: Id, payload: ReferenceIn):
    order = services.order_confirm_payment(
        order_id=order_id, user=request.auth, reference=payload.reference
    )
    return order_out(order, request)


def _simple(path: str, service, summary: str):
    """A POST action that takes no body and returns the order."""

    def view(request, order_id: Id):
        return order_out(service(order_id=order_id, user=request.auth), request)

    view.__name__ = path.replace("-", "_")
    router.post(f"/{{order_id}}/{path}", response=OrderOut, summary=summary)(view)


_simple("abandon", services.order_abandon, "Drop an unpaid order (buyer)")
_simple("accept-order", services.order_accept_order, "Take on an order (seller)")
_simple("decline-order", services.order_decline_order, "Turn an order down, full refund (seller)")
_simple("accept", services.order_accept, "Accept the delivery: money and originals are released")
_simple("grant-revision", services.order_grant_revision, "Grant one extra revision (seller)")
_simple("cancel-late", services.order_cancel_late, "Cancel a late order, full refund (buyer)")
_simple("accept-cancellation", services.order_accept_cancellation, "Agree to a cancellation")
_simple("withdraw-cancellation", services.order_withdraw_cancellation, "Withdraw your request")
_simple("chargeback", services.order_chargeback, "Record a chargeback reported by the provider")


class TextIn(Schema):
    """The free text of a request: every request that takes one calls it ``text``."""

    text: str


@router.post("/{order_id}/request-revision", response=OrderOut)
def request_revision(request, order_id: Id, payload: TextIn):
    order = services.order_request_revision(order_id=order_id, user=request.auth, text=payload.text)
    return order_out(order, request)


@router.post("/{order_id}/decline-cancellation", response=OrderOut)
def decline_cancellation(request, order_id: Id, payload: TextIn):
    order = services.order_decline_cancellation(
        order_id=order_id, user=request.auth, text=payload.text
    )
    return order_out(order, request)


class CancellationIn(TextIn):
    refund: StrictInt


@router.post("/{order_id}/request-cancellation", response=OrderOut)
def request_cancellation(request, order_id: Id, payload: CancellationIn):
    order = services.order_request_cancellation(
        order_id=order_id, user=request.auth, text=payload.text, refund=payload.refund
    )
    return order_out(order, request)


@router.post("/{order_id}/open-dispute", response=OrderOut)
def open_dispute(request, order_id: Id, payload: TextIn):
    order = services.order_open_dispute(order_id=order_id, user=request.auth, text=payload.text)
    return order_out(order, request)


class AutoCompleteIn(Schema):
    enabled: StrictBool


@router.post("/{order_id}/auto-complete", response=OrderOut)
def set_auto_complete(request, order_id: Id, payload: AutoCompleteIn):
    order = services.order_set_auto_complete(
        order_id=order_id, user=request.auth, enabled=payload.enabled
    )
    return order_out(order, request)


class MessageOut(Schema):
    id: int
    order_id: int
    author_id: int
    author: str
    author_role: str
    text: str
    created_at: datetime


def _message_out(message: Message) -> dict:
    return {
        "id": message.pk,
        "order_id": message.order_id,
        "author_id": message.author_id,
        "author": message.author.username,
        "author_role": message.author_role,
        "text": message.body,
        "created_at": message.created_at,
    }


@router.post("/{order_id}/messages", response={201: MessageOut})
def post_message(request, order_id: Id, payload: TextIn):
    message = services.message_post(order_id=order_id, user=request.auth, text=payload.text)
    return Status(201, _message_out(message))


class MessagePage(Schema):
    items: list[MessageOut]
    count: int


@router.get("/{order_id}/messages", response=MessagePage)
def list_messages(request, order_id: Id, params: Query[PageParams]):
    order = order_visible(order_id=order_id, user=request.auth)
    messages = Message.objects.filter(order=order).select_related("author")
    return page(messages, params, _message_out)


class EventOut(Schema):
    id: int
    type: str
    actor_id: int | None
    actor_role: str
    created_at: datetime
    payload: dict

    @staticmethod
    def resolve_payload(obj: Event) -> dict:
        # ``reads_as_support`` is annotated by list_events: one decision per request.
        sealed = obj.sealed.values if hasattr(obj, "sealed") else None
        return payload_for(obj.payload, sealed, support=obj.reads_as_support)  # type: ignore[attr-defined]


@router.get("/{order_id}/events", response=list[EventOut])
@paginate(Pagination)
def list_events(request, order_id: Id):
    order = order_visible(order_id=order_id, user=request.auth)
    support = reads_as_support(request.auth, buyer_id=order.buyer_id, seller_id=order.seller_id)
    events = Event.objects.filter(order=order).select_related("sealed")
    if not support:
        events = events.exclude(type__in=SUPPORT_ONLY_TYPES)
    return events.annotate(reads_as_support=Value(support, output_field=BooleanField()))
