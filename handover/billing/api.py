from django.http import HttpRequest
from ninja import Router, Schema

from handover.api.errors import refusals
from handover.billing.webhooks import webhook_apply, webhook_event
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
