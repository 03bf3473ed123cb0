from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Value
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from handover.api.errors import refusals
from handover.api.pagination import Pagination
from handover.disputes.services import dispute_open
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
    buyer: str = Field(alias="buyer.username")
    seller_id: int
    seller: str = Field(alias="seller.username")
    currency: str
    price: int
    buyer_fee: int
    seller_fee: int
    total: int
    refunded: int
    requirements: list[dict[str, str]]
    terms_version: int = Field(alias="terms.version")
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
    # Set by pay, for a provider that needs the buyer to act (a manual transfer).
    payment_instructions: str = ""
    # For the seller of an order awaiting acceptance: who is asking (see trust.selectors);
    # shown by OrderDetailOut only.
    buyer_record: dict | None = None

    @staticmethod
    def resolve_timer_action(order: Order) -> str | None:
        return timer_action(order)

    @staticmethod
    def resolve_cancellation(order: Order) -> dict | None:
        if not order.cancellation_requested_by:
            return None
        return {
            "requested_by": order.cancellation_requested_by,
            "text": order.cancellation_reason,
            "refund": order.cancellation_refund,
        }

    @staticmethod
    def resolve_role(order: Order, context: Any) -> str:
        return viewer_role(order, context["request"].auth).value

    @staticmethod
    def resolve_actions(order: Order, context: Any) -> list[str]:
        return available_actions(order, viewer_role(order, context["request"].auth))

    @staticmethod
    def resolve_payment_instructions(order: Order) -> str:
        return getattr(order, "payment_instructions", "")

    @staticmethod
    def resolve_buyer_record(order: Order, context: Any) -> dict | None:
        return None


class OrderDetailOut(OrderOut):
    """One order, with the buyer's record for its seller while it awaits acceptance (a few
    queries: lists leave it out and stay constant)."""

    @staticmethod
    def resolve_buyer_record(order: Order, context: Any) -> dict | None:
        role = viewer_role(order, context["request"].auth)
        if role == Actor.SELLER and order.state == State.AWAITING_ACCEPTANCE:
            return user_record(order.buyer).as_dict()
        return None


@router.post("", response={201: OrderOut, **refusals(403)})
def create_order(request, payload: OrderIn):
    order = services.order_place(
        buyer=request.auth, offer_id=payload.offer_id, answers=payload.answers
    )
    return Status(201, order)


@router.get("", response=list[OrderOut])
@paginate(Pagination)
def list_orders(request, state: str | None = None, role: str | None = None):
    orders = orders_visible_to(request.auth)
    if role == "buyer":
        orders = orders.filter(buyer=request.auth)
    elif role == "seller":
        orders = orders.filter(seller=request.auth)
    if state:
        orders = orders.filter(state=state)
    return orders


@router.get("/{order_id}", response=OrderDetailOut)
def get_order(request, order_id: Id):
    return order_visible(order_id=order_id, user=request.auth)


@router.put("/{order_id}/answers", response={200: OrderOut, **refusals(409)})
def update_answers(request, order_id: Id, payload: AnswersIn):
    order = services.order_update_answers(
        order_id=order_id, user=request.auth, answers=payload.answers
    )
    return order


@router.post("/{order_id}/pay", response=OrderOut)
def pay(request, order_id: Id):
    result = services.order_pay(order_id=order_id, user=request.auth)
    order = result["order"]
    order.payment_instructions = result["instructions"]  # shown once, with this answer
    return order


class ReferenceIn(Schema):
    reference: str = ""


@router.post("/{order_id}/confirm-payment", response=OrderOut)
def confirm_payment(request, order_id: Id, payload: ReferenceIn):
    order = services.order_confirm_payment(
        order_id=order_id, user=request.auth, reference=payload.reference
    )
    return order


def _simple(path: str, service, summary: str):
    """A POST action that takes no body and returns the order."""

    def view(request, order_id: Id):
        return service(order_id=order_id, user=request.auth)

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
    return order


@router.post("/{order_id}/decline-cancellation", response=OrderOut)
def decline_cancellation(request, order_id: Id, payload: TextIn):
    order = services.order_decline_cancellation(
        order_id=order_id, user=request.auth, text=payload.text
    )
    return order


class CancellationIn(TextIn):
    refund: StrictInt


@router.post("/{order_id}/request-cancellation", response=OrderOut)
def request_cancellation(request, order_id: Id, payload: CancellationIn):
    order = services.order_request_cancellation(
        order_id=order_id, user=request.auth, text=payload.text, refund=payload.refund
    )
    return order


@router.post("/{order_id}/open-dispute", response=OrderOut)
def open_dispute(request, order_id: Id, payload: TextIn):
    return dispute_open(order_id=order_id, user=request.auth, text=payload.text)


class AutoCompleteIn(Schema):
    enabled: StrictBool


@router.post("/{order_id}/auto-complete", response=OrderOut)
def set_auto_complete(request, order_id: Id, payload: AutoCompleteIn):
    order = services.order_set_auto_complete(
        order_id=order_id, user=request.auth, enabled=payload.enabled
    )
    return order


class MessageOut(Schema):
    id: int
    order_id: int
    author_id: int
    author: str = Field(alias="author.username")
    author_role: str
    text: str = Field(alias="body")
    created_at: datetime


@router.post("/{order_id}/messages", response={201: MessageOut})
def post_message(request, order_id: Id, payload: TextIn):
    message = services.message_post(order_id=order_id, user=request.auth, text=payload.text)
    return Status(201, message)


@router.get("/{order_id}/messages", response=list[MessageOut])
@paginate(Pagination)
def list_messages(request, order_id: Id):
    order = order_visible(order_id=order_id, user=request.auth)
    return Message.objects.filter(order=order).select_related("author")


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
