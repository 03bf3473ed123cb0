import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Prefetch, Value
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt
from pydantic import ValidationError as SchemaError

from handover.api.errors import refusals
from handover.api.pagination import Pagination
from handover.delivery.serving import attachment_served
from handover.delivery.uploads import REFERENCE_FILES, UploadSession
from handover.disputes.services import dispute_open
from handover.evidence.models import Event
from handover.evidence.visibility import (
    payload_for,
    reads_as_buyer,
    reads_as_support,
    withheld_types,
)
from handover.lib.bounds import Id, StrictId, json_parse
from handover.lib.errors import InvalidInput
from handover.orders import cancellation, chargebacks, services
from handover.orders.models import Attachment, Message, Order
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
    # Set by pay, for a card payment (stripe): what the buyer's browser hands Stripe.js to
    # confirm the card (``stripe.confirmCardPayment(client_secret, ...)``).
    client_secret: str = ""
    publishable_key: str = ""
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
    def resolve_client_secret(order: Order) -> str:
        return getattr(order, "client_secret", "")

    @staticmethod
    def resolve_publishable_key(order: Order) -> str:
        return getattr(order, "publishable_key", "")

    @staticmethod
    def resolve_buyer_record(order: Order, context: Any) -> dict | None:
        return None


class AttachmentOut(Schema):
    """A reference file the buyer sent: both parties download it at once (``url``)."""

    id: int
    name: str
    size: int
    sha256: str
    kind: str
    content_type: str
    requirement: int | None
    message_id: int | None
    url: str

    @staticmethod
    def resolve_url(attachment: Attachment) -> str:
        return f"/api/v1/orders/{attachment.order_id}/attachments/{attachment.pk}"


class OrderDetailOut(OrderOut):
    """One order, with the buyer's record for its seller while it awaits acceptance, and the
    reference files sent with the answers (a few queries: lists leave them out and stay
    constant)."""

    answer_files: list[AttachmentOut]

    @staticmethod
    def resolve_answer_files(order: Order) -> list[Attachment]:
        return list(order.attachments.filter(requirement__isnull=False))

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


_ANSWERS_FORM = {
    "type": "object",
    "required": ["answers"],
    "properties": {
        "answers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "One field per requirement question, in order.",
        },
        "files_0": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "Reference files for the first question; files_1 for the second...",
        },
    },
}


@router.post(
    "/{order_id}/answers",
    response={200: OrderDetailOut, **refusals(403, 409, 411, 413, 415)},
    summary="Update answers with reference files",
    description=(
        "As PUT, with reference files: multipart, one `answers` field per question and each "
        "question's files in `files_N` (N from 0). Streamed, hashed and sniffed as a "
        "delivery's files, under the same limits; the seller downloads them at once. "
        "A JSON body (as PUT's) changes the answers only."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _ANSWERS_FORM},
                "application/json": {"schema": AnswersIn.model_json_schema()},
            },
        }
    },
)
def update_answers_with_files(request, order_id: Id):
    if request.content_type == "multipart/form-data":
        answers, files = request.POST.getlist("answers"), _answer_files(request)
    else:
        answers, files = _json_body(request, AnswersIn).answers, {}
    order = services.order_update_answers(
        order_id=order_id, user=request.auth, answers=answers, files=files
    )
    _claim(request, order.attachments.all())
    return order_visible(order_id=order_id, user=request.auth)


def _answer_files(request) -> dict[int, list]:
    files: dict[int, list] = {}
    for field in request.FILES:
        if field == "files" or not REFERENCE_FILES.fullmatch(field):
            raise InvalidInput(
                "Send each answer's files in files_N (N from 0).", code="files_field"
            )
        files[int(field.removeprefix("files_"))] = request.FILES.getlist(field)
    return files


def _claim(request, attachments) -> None:
    """The stored objects the service recorded stay; the upload deletes the others."""
    session: UploadSession | None = getattr(request, "upload_session", None)
    if session is not None:
        session.claimed.update(a.storage_key for a in attachments)


@router.post("/{order_id}/pay", response={200: OrderOut, **refusals(503)})
def pay(request, order_id: Id):
    result = services.order_pay(
        order_id=order_id,
        user=request.auth,
        address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )
    order = result["order"]
    order.payment_instructions = result["instructions"]  # shown once, with this answer
    if result["client_secret"]:
        order.client_secret = result["client_secret"]
        order.publishable_key = settings.HANDOVER_STRIPE_PUBLISHABLE_KEY
    return order


class ReferenceIn(Schema):
    reference: str = ""


@router.post("/{order_id}/confirm-payment", response=OrderOut)
def confirm_payment(request, order_id: Id, payload: ReferenceIn):
    order = services.order_confirm_payment(
        order_id=order_id, user=request.auth, reference=payload.reference
    )
    return order


def _simple(path: str, service, summary: str, *statuses: int):
    """A POST action that takes no body and returns the order; ``statuses``: the refusals
    only it gives (503 where it asks the payment provider and may get no answer)."""

    def view(request, order_id: Id):
        return service(order_id=order_id, user=request.auth)

    view.__name__ = path.replace("-", "_")
    response = {200: OrderOut, **refusals(*statuses)}
    router.post(f"/{{order_id}}/{path}", response=response, summary=summary)(view)


# Abandoning cancels a card payment's PaymentIntent at Stripe first: 503 if Stripe is silent.
_simple("abandon", services.order_abandon, "Drop an unpaid order (buyer)", 503)
_simple("accept-order", services.order_accept_order, "Take on an order (seller)")
_simple("decline-order", services.order_decline_order, "Turn an order down, full refund (seller)")
_simple("accept", services.order_accept, "Accept the delivery: money and originals are released")
_simple("grant-revision", services.order_grant_revision, "Grant one extra revision (seller)")
_simple("cancel-late", services.order_cancel_late, "Cancel a late order, full refund (buyer)")
_simple("accept-cancellation", cancellation.order_accept_cancellation, "Agree to a cancellation")
_simple("withdraw-cancellation", cancellation.order_withdraw_cancellation, "Withdraw your request")
_simple("chargeback", chargebacks.order_chargeback, "Record a chargeback: the order goes on hold")
_simple("chargeback-won", chargebacks.order_chargeback_won, "Record a chargeback won by the seller")
_simple("chargeback-lost", chargebacks.order_chargeback_lost, "Record a chargeback the seller lost")


class TextIn(Schema):
    """The free text of a request: every request that takes one calls it ``text``."""

    text: str


@router.post("/{order_id}/request-revision", response=OrderOut)
def request_revision(request, order_id: Id, payload: TextIn):
    order = services.order_request_revision(order_id=order_id, user=request.auth, text=payload.text)
    return order


@router.post("/{order_id}/decline-cancellation", response=OrderOut)
def decline_cancellation(request, order_id: Id, payload: TextIn):
    order = cancellation.order_decline_cancellation(
        order_id=order_id, user=request.auth, text=payload.text
    )
    return order


class CancellationIn(TextIn):
    refund: StrictInt


@router.post("/{order_id}/request-cancellation", response=OrderOut)
def request_cancellation(request, order_id: Id, payload: CancellationIn):
    order = cancellation.order_request_cancellation(
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
    files: list[AttachmentOut]

    @staticmethod
    def resolve_files(message: Message) -> list[Attachment]:
        return list(message.attachments.all())


_MESSAGE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": TextIn.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "May be empty with files."},
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        },
    },
}


@router.post(
    "/{order_id}/messages",
    response={201: MessageOut, **refusals(403, 411, 413, 415)},
    description=(
        'JSON `{"text"}`, or multipart with `text` and the buyer\'s reference files in '
        "`files` (streamed, hashed and sniffed as a delivery's files, under the same limits). "
        "Only the buyer attaches files (403 `attachments_buyer_only`): a seller sends work "
        "as a delivery."
    ),
    openapi_extra={"requestBody": _MESSAGE_BODY},
)
def post_message(request, order_id: Id):
    text, files = _message_input(request)
    message = services.message_post(order_id=order_id, user=request.auth, text=text, files=files)
    _claim(request, message.attachments.all())
    return Status(201, message)


def _message_input(request) -> tuple[str, list]:
    """The message's text and files, from a multipart form or a JSON body."""
    if request.content_type == "multipart/form-data":
        if set(request.FILES) - {"files"}:
            raise InvalidInput("Send a message's files in the field 'files'.", code="files_field")
        return request.POST.get("text", ""), request.FILES.getlist("files")
    return _json_body(request, TextIn).text, []


def _json_body[T: Schema](request, schema: type[T]) -> T:
    """A JSON body as ninja reads one (api.StrictJsonParser), for a route that also takes
    multipart: 400 when it does not parse, 422 when it is not what the route takes."""
    try:
        value = json_parse(request.body)
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate cannot be stored
    except ValueError:
        raise HttpError(400, "Cannot parse request body") from None
    try:
        return schema.model_validate(value)
    except SchemaError as error:
        errors = [{**e, "loc": ("body", "payload", *e["loc"])} for e in error.errors()]
        raise ValidationError(errors) from None


@router.get("/{order_id}/messages", response=list[MessageOut])
@paginate(Pagination)
def list_messages(request, order_id: Id):
    order = order_visible(order_id=order_id, user=request.auth)
    return (
        Message.objects.filter(order=order)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", Attachment.objects.order_by("id")))
    )


_BYTES = {
    "responses": {
        "200": {
            "description": "The bytes (or a redirect to them); Range answers 206.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }
}


@router.get("/{order_id}/attachments/{attachment_id}", openapi_extra=_BYTES)
def download_attachment(request, order_id: Id, attachment_id: Id):
    """A reference file's bytes, for both parties and support at once (Range, ETag); each
    download is on the order's record."""
    return attachment_served(
        request, order_id=order_id, attachment_id=attachment_id, user=request.auth
    )


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
    buyer = reads_as_buyer(request.auth, buyer_id=order.buyer_id)
    events = Event.objects.filter(order=order).select_related("sealed")
    if withheld := withheld_types(support=support, buyer=buyer):
        events = events.exclude(type__in=withheld)
    return events.annotate(reads_as_support=Value(support, output_field=BooleanField()))
