"""Stripe's webhooks: the signature checked with the SDK, each event applied once.

An event is stored (``WebhookEvent``) in the transaction that applies it, so a replay finds
it and changes nothing, and an event whose handler fails is not stored: Stripe sends it again.
Handlers act on the object's state as the event carries it and check it against what Handover
holds, so events that arrive out of order do no harm. Types without a handler are
acknowledged and ignored.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from handover.billing import chargebacks, payins, refunds
from handover.billing.models import WebhookEvent
from handover.billing.payouts import account_updated
from handover.lib.errors import InvalidInput
from handover.payments.stripe_client import stripe_client

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


def _of_object(apply: Handler) -> Handler:
    """A handler that needs only the event's ``data.object``: most act on the object's state
    as it is, whatever the event's age."""
    return lambda event: apply(event["data"]["object"])


# Event type -> what applies it, given the whole event.
HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _of_object(payins.payment_intent_succeeded),
    "payment_intent.payment_failed": _of_object(payins.payment_intent_payment_failed),
    "payment_intent.canceled": _of_object(payins.payment_intent_canceled),
    # Refunds (billing.refunds): a Refund object, or a Charge with its refunds.
    "refund.updated": _of_object(refunds.refund_update_apply),
    "refund.failed": _of_object(refunds.refund_update_apply),
    "charge.refund.updated": _of_object(refunds.refund_update_apply),
    "charge.refunded": _of_object(refunds.charge_refunded_apply),
    # Needs when Stripe made the event (``created``), to ignore one older than the state held.
    "account.updated": account_updated,
    "charge.dispute.created": _of_object(chargebacks.dispute_created),
    "charge.dispute.updated": _of_object(chargebacks.dispute_updated),
    "charge.dispute.closed": _of_object(chargebacks.dispute_closed),
}


def webhook_event(payload: bytes, signature: str) -> dict[str, Any]:
    """The event, once its ``Stripe-Signature`` proves it came from Stripe; else 400."""
    secret = settings.HANDOVER_STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidInput("Stripe webhooks are not configured here.", code="bad_signature")
    try:
        event = stripe_client().construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError):
        raise InvalidInput("The Stripe-Signature does not match.", code="bad_signature") from None
    return event.to_dict()


def webhook_apply(event: dict[str, Any]) -> str:
    """Apply one event at most once: ``applied``, ``ignored`` (no handler) or ``replayed``."""
    data_object = event["data"]["object"]
    handler = HANDLERS.get(event["type"])
    with transaction.atomic():
        _, created = WebhookEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={
                "type": event["type"],
                "object_id": str(data_object.get("id", "")),
                "created": datetime.fromtimestamp(event["created"], tz=UTC),
                "received_at": timezone.now(),
                "payload": event,
            },
        )
        if not created:
            return "replayed"
        if handler is None:
            return "ignored"
        handler(event)
    logger.info("applied Stripe event %s (%s)", event["id"], event["type"])
    return "applied"
