"""Refunds through the payment provider. Every refund the ledger makes (a settlement's, or a
refund raised after it) waits in the order's refunding account and is asked of the order's
provider in the same transaction; the ledger posts it out to the world when the provider
confirms it: at once (``test``, ``manual``, a Stripe refund that succeeds on the spot) or later
by webhook (``billing.refunds``). A refund the provider refuses does not undo the order's move:
it stays in refunding, marked failed, until support tries it again.

Callers hold the order's row lock and an open transaction.
"""

import logging
from typing import Any

from handover.accounts.models import User
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.ledger import services as ledger
from handover.notifications.services import notifications_for_event
from handover.orders.models import Order
from handover.orders.rules import Actor
from handover.payments import services as payments
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.providers import RefundResult, get_provider

logger = logging.getLogger(__name__)

RefundEvent = tuple[EventType, dict[str, Any]]


def refund_key(order: Order, purpose: str) -> str:
    """The idempotency key of one refund of the order: its settlement, or a raise to a total.
    The payment's own id makes it unique across deployments sharing a provider account."""
    return f"handover-refund-{order.pk}-{order.payment_reference}-{purpose}"[:100]


def refund_send(order: Order, *, amount: int, purpose: str) -> tuple[ProviderRefund, list]:
    """Ask the order's provider for a refund the ledger just moved into refunding. Returns the
    record and the events to append once the move that decided it is on the record."""
    refund = payments.provider_refund_create(
        order=order, amount=amount, key=refund_key(order, purpose)
    )
    return refund, refund_attempt(order, refund)


def refund_attempt(order: Order, refund: ProviderRefund) -> list[RefundEvent]:
    """Send the refund under its latest idempotency key and apply the provider's answer."""
    provider = get_provider(refund.provider)
    result = provider.refund(order=order, amount=refund.amount, key=refund.attempt_key)
    return refund_answer(order, refund, result)


def refund_answer(order: Order, refund: ProviderRefund, result: RefundResult) -> list[RefundEvent]:
    """Apply what the provider says of a refund, once: a confirmed refund posts the ledger's
    ``refund`` (refunding -> world); a failure is marked for support; a confirmed refund that
    fails after all (the buyer's card account was closed: the money came back to the platform)
    is taken back into refunding and marked for support. An answer that changes nothing (a
    replayed or late webhook, or one about an earlier attempt) does nothing. Returns the events
    it calls for."""
    same = bool(result.reference) and result.reference == refund.reference
    if refund.state == RefundState.SUCCEEDED:
        if result.state == RefundState.FAILED and same:
            return _returned(order, refund, result)
        return []
    if refund.state == RefundState.FAILED and same:
        # A refund the provider failed stays failed (Stripe's ``failed`` is final): a word of
        # it being pending or succeeded is from before it failed.
        return []
    if result.state == refund.state and result.reference in ("", refund.reference):
        return []
    payments.provider_refund_answer(refund, result)
    if result.state == RefundState.SUCCEEDED:
        ledger.ledger_refund_sent(order=order, amount=refund.amount, reference=refund.reference)
        return [(EventType.REFUND_SENT, _payload(refund))]
    if result.state == RefundState.FAILED:
        return [(EventType.REFUND_FAILED, {**_payload(refund), "failure": refund.failure})]
    return []


def _returned(order: Order, refund: ProviderRefund, result: RefundResult) -> list[RefundEvent]:
    """The provider gave back a refund it had confirmed: the ledger posts the exact reverse of
    its ``refund``, and the refund waits for support's retry like any failed one."""
    logger.warning("refund %s of order %s failed after it succeeded", refund.pk, order.pk)
    payments.provider_refund_answer(refund, result)
    ledger.ledger_refund_returned(order=order, reference=refund.reference)
    payload = {**_payload(refund), "failure": refund.failure, "returned": True}
    return [(EventType.REFUND_FAILED, payload)]


def _payload(refund: ProviderRefund) -> dict[str, Any]:
    return {
        "refund_id": refund.pk,
        "amount": refund.amount,
        "currency": refund.currency,
        "provider": refund.provider,
        "reference": refund.reference,
        "attempt": refund.attempts,
    }


def refund_events_append(order: Order, events: list[RefundEvent]) -> None:
    """Put what happened to the refunds on the order's record, as the provider's doing."""
    for event_type, payload in events:
        event = event_append(
            order=order, type=event_type, actor=None, actor_role=Actor.PROVIDER, payload=payload
        )
        notifications_for_event(event)


def refund_retry_record(
    order: Order, refund: ProviderRefund, *, user: User, text: str
) -> list[RefundEvent]:
    """Support tries a failed refund again; the retry and its rationale go on the record."""
    payments.provider_refund_retry_start(refund)
    event = event_append(
        order=order,
        type=EventType.REFUND_RETRIED,
        actor=user,
        actor_role=Actor.SUPPORT,
        payload={**_payload(refund), "text": text},
    )
    notifications_for_event(event)
    return refund_attempt(order, refund)
