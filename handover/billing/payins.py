"""Card payments coming in: what Stripe says about an order's PaymentIntent, applied to the order.

The webhook handlers (``payment_intent.succeeded``, ``.payment_failed``, ``.canceled``) and the
worker's check of payments still pending (``payins_check``, for a webhook that never came) go
through the same functions. Each reads the PaymentIntent as Stripe gives it and checks it
against the order, so a replay, a late event or one about a payment that is not Handover's
changes nothing:

- a success starts an order awaiting payment; it changes nothing on an order already paid; on
  an order abandoned meanwhile it gives the buyer the whole payment back (a Refund at Stripe);
- a failure or a cancellation of the order's current payment is put on the record and told to
  the buyer; the order keeps waiting for payment. After a success it changes nothing.
"""

import logging
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
from handover.lib.errors import HandoverError
from handover.notifications.services import notifications_for_event
from handover.orders import services as orders
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.payments.stripe_client import stripe_amount, stripe_client

logger = logging.getLogger(__name__)

# What the buyer reads when Stripe gives no reason of its own.
DECLINED = "The card was declined."
CANCELED = "The payment was cancelled before it completed."


def _order_for(intent: dict[str, Any]) -> Order | None:
    """The order ``intent`` pays, or None when it is not one of Handover's (another system on
    the same Stripe account, or an order that never had this PaymentIntent)."""
    order_pk = (intent.get("metadata") or {}).get("handover_order", "")
    order = Order.objects.filter(pk=int(order_pk)).first() if order_pk.isdigit() else None
    if order is None or order.payment_provider != "stripe":
        return None
    if order.payment_reference != intent["id"]:
        return None
    return order


def _matches(order: Order, intent: dict[str, Any]) -> bool:
    return intent.get("amount") == stripe_amount(order.total, order.currency) and (
        str(intent.get("currency", "")).upper() == order.currency
    )


def payin_succeeded(intent: dict[str, Any]) -> str:
    """Apply a PaymentIntent that succeeded; says what it did."""
    order = _order_for(intent)
    if order is None:
        logger.info("ignored PaymentIntent %s: not an order's payment", intent.get("id"))
        return "not ours"
    if not _matches(order, intent):
        # Never start an order on a payment of another amount; support sees it in the log.
        logger.error("PaymentIntent %s does not match order %s's total", intent["id"], order.pk)
        return "mismatch"
    with transaction.atomic():
        order = orders.order_lock(order.pk)  # serialises with the buyer's or timer's abandon
        if order.paid_at is not None:
            return "already paid"
        if order.state == State.CANCELLED:
            return _return_late_payment(order, intent)
        orders.order_payment_received(order_id=order.pk, reference=intent["id"])
    return "started"


def _return_late_payment(order: Order, intent: dict[str, Any]) -> str:
    """The order was abandoned before the money came: give it all back, once."""
    if order.events.filter(type=EventType.PAYMENT_RETURNED).exists():
        return "already returned"
    refund = stripe_client().v1.refunds.create(
        params={"payment_intent": intent["id"]},
        options={"idempotency_key": f"handover-order-{order.pk}-return-{intent['id']}"},
    )
    event = event_append(
        order=order,
        type=EventType.PAYMENT_RETURNED,
        actor_role=Actor.PROVIDER,
        payload={
            "reference": intent["id"],
            "refund_reference": refund.id,
            "amount": order.total,
            "currency": order.currency,
        },
    )
    notifications_for_event(event)
    return "returned"


def payin_failed(intent: dict[str, Any], *, reason: str = "") -> str:
    """Put a refused or cancelled payment of an order awaiting payment on its record and
    tell the buyer why; the order keeps waiting for a payment."""
    order = _order_for(intent)
    if order is None:
        return "not ours"
    error = intent.get("last_payment_error") or {}
    reason = reason or str(error.get("message") or DECLINED)
    with transaction.atomic():
        order = orders.order_lock(order.pk)
        if order.state != State.PENDING_PAYMENT or order.paid_at is not None:
            return "too late"  # a success came first, or the order ended: nothing to tell
        event = event_append(
            order=order,
            type=EventType.PAYMENT_FAILED,
            actor_role=Actor.PROVIDER,
            payload={
                "reference": intent["id"],
                "reason": reason,
                "code": str(error.get("decline_code") or error.get("code") or ""),
            },
        )
        notifications_for_event(event)
    return "failed"


def payment_intent_succeeded(intent: dict[str, Any]) -> None:
    payin_succeeded(intent)


def payment_intent_payment_failed(intent: dict[str, Any]) -> None:
    payin_failed(intent)


def payment_intent_canceled(intent: dict[str, Any]) -> None:
    payin_failed(intent, reason=CANCELED)


def payment_failure(order: Order) -> str:
    """Why the buyer's last card payment of an order awaiting payment did not go through, in
    the provider's words; empty when it did not fail (or was tried again since)."""
    if order.state != State.PENDING_PAYMENT:
        return ""
    last = (
        order.events.filter(type__in=[EventType.PAYMENT_STARTED, EventType.PAYMENT_FAILED])
        .order_by("-id")
        .first()
    )
    if last is None or last.type != EventType.PAYMENT_FAILED:
        return ""
    return str(last.payload.get("reason", ""))


def stale_payin_ids(now: datetime) -> list[int]:
    """Stripe orders still awaiting payment whose payment started before the check delay."""
    started = Event.objects.filter(
        order=OuterRef("pk"),
        type=EventType.PAYMENT_STARTED,
        created_at__lte=now - settings.HANDOVER_STRIPE_CHECK_AFTER,
    )
    return list(
        Order.objects.filter(state=State.PENDING_PAYMENT, payment_provider="stripe")
        .exclude(payment_reference="")
        .filter(Exists(started))
        .values_list("pk", flat=True)
    )


def payins_check(*, now: datetime | None = None) -> dict[str, int]:
    """Ask Stripe about each card payment still pending after ``HANDOVER_STRIPE_CHECK_AFTER``
    and apply a success as its webhook would have; each order on its own, asked at most once
    per that delay (the scheduler runs this every few seconds)."""
    started = 0
    every = int(settings.HANDOVER_STRIPE_CHECK_AFTER.total_seconds())
    for order_id in stale_payin_ids(now or timezone.now()):
        order = Order.objects.get(pk=order_id)
        if not cache.add(f"handover:payin-check:{order.payment_reference}", 1, timeout=every):
            continue
        try:
            intent = stripe_client().v1.payment_intents.retrieve(order.payment_reference)
        except stripe.StripeError as error:  # the next check asks again
            logger.warning("payment check of order %s failed: %s", order_id, type(error).__name__)
            continue
        if intent.status != "succeeded":
            continue
        try:
            started += payin_succeeded(intent.to_dict()) == "started"
        except HandoverError as exc:  # moved meanwhile; the next check sees it
            logger.info("payment check of order %s skipped: %s", order_id, exc.detail)
    return {"started": started}
