from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from handover.api.errors import refusals
from handover.api.pagination import Pagination
from handover.billing.chargebacks import chargeback_note_set, seller_note_of, submit_at
from handover.billing.refunds import refund_retry
from handover.billing.webhooks import webhook_apply, webhook_event
from handover.lib.bounds import Id
from handover.lib.errors import InvalidInput, PermissionDenied
from handover.payments.selectors import refunds_failed

router = Router()


class StripeWebhookOut(Schema):
    received: bool
    result: str  # applied, ignored (a type Handover does not act on) or replayed


@router.post(
    "/payments/stripe/webhook", auth=None, response={200: StripeWebhookOut, **refusals(400)}
)
def stripe_webhook(request: HttpRequest):
    """Stripe's events (payments, refunds, transfers, disputes), signed with the endpoint's
    secret; each is applied once, a replay answers ``replayed``; a bad signature: 400."""
    if request.content_type != "application/json":
        raise InvalidInput("Stripe sends its events as JSON.", code="bad_request")
    event = webhook_event(request.body, request.headers.get("Stripe-Signature", ""))
    return {"received": True, "result": webhook_apply(event)}


class ChargebackNoteIn(Schema):
    text: str


class ChargebackNoteOut(Schema):
    dispute_id: str
    seller_note: str
    due_by: datetime | None
    submit_at: datetime | None  # when Handover answers the bank; notes close then


@router.post(
    "/orders/{order_id}/chargeback-note",
    response={200: ChargebackNoteOut, **refusals(404, 409, 422)},
)
def chargeback_note(request, order_id: Id, payload: ChargebackNoteIn):
    """The seller's note for the bank, sent with Handover's answer to a chargeback on the
    order (replaces an earlier note); taken until the answer's cut-off."""
    row = chargeback_note_set(order_id=order_id, user=request.auth, text=payload.text)
    return {
        "dispute_id": row.dispute_id,
        "seller_note": seller_note_of(row),
        "due_by": row.due_by,
        "submit_at": submit_at(row),
    }


# --- the support desk's failed refunds (the page: /support/refunds/) ---------------------------


class RefundOut(Schema):
    id: int
    order_id: int
    buyer: str = Field(alias="order.buyer.username", description="Whom the money goes back to.")
    amount: int
    currency: str
    state: str  # pending, succeeded or failed
    failure: str  # the provider's words for why it failed
    failure_code: str
    attempts: int
    reference: str  # the provider's id (re_... with Stripe), once it made one
    updated_at: datetime  # the last attempt or answer


class RefundRetryIn(Schema):
    text: str


def _require_support(request) -> None:
    if not request.auth.is_support:
        raise PermissionDenied("Failed refunds are retried by support agents.")


@router.get("/support/refunds", response={200: list[RefundOut], **refusals(403)})
@paginate(Pagination)
def list_failed_refunds(request):
    """The refunds the payment provider refused or could not send, the longest waiting first
    (support only); their money waits in the order's refunding account."""
    _require_support(request)
    return refunds_failed().select_related("order__buyer")


@router.post("/support/refunds/{refund_id}/retry", response={200: RefundOut, **refusals(403, 409)})
def retry_refund(request, refund_id: Id, payload: RefundRetryIn):
    """Ask the provider again for a failed refund (support only), with why in ``text``; the
    answer is the refund as the provider left it (409 ``refund_not_failed``: nothing to retry)."""
    _require_support(request)
    return refund_retry(refund_id=refund_id, user=request.auth, text=payload.text)
