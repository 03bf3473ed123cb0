from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from handover.api.errors import refusals
from handover.billing.chargebacks import chargeback_note_set, seller_note_of, submit_at
from handover.billing.webhooks import webhook_apply, webhook_event
from handover.lib.bounds import Id
from handover.lib.errors import InvalidInput

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
