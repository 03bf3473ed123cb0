"""Stripe's word on the refunds Handover asked for, and support's retry of a failed one.

A refund Stripe confirms (``refund.updated``, ``charge.refund.updated``, ``charge.refunded``)
posts the ledger's ``refund`` once: the record's state guards it, under the order's row lock. A
failed one (``refund.failed``, or an update saying so) is marked for the support desk, where an
agent tries it again (``refund_retry``). One that fails after it succeeded (Stripe gives the
money back to the platform's balance when the buyer's card account was closed) is taken back
into the order's refunding account (``refund_returned``) and waits for the same retry; Stripe
never makes a failed refund succeed again, so a late word of its success changes nothing.
"""

import logging
from typing import Any

from django.db import transaction

from handover.accounts.models import User
from handover.evidence.visibility import reads_as_support
from handover.lib.errors import Conflict, NotFound, PermissionDenied
from handover.lib.text import text_check
from handover.orders.models import Order
from handover.orders.refunds import refund_answer, refund_events_append, refund_retry_record
from handover.orders.services import order_lock
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.providers import RefundResult, stripe_refund_state
from handover.payments.selectors import refund_by_key, refund_by_reference, refund_for_update
from handover.payments.stripe_client import stripe_client

logger = logging.getLogger(__name__)

MAX_RATIONALE = 2000


def _result(refund: dict[str, Any]) -> RefundResult:
    state = stripe_refund_state(str(refund.get("status") or ""))
    if state != RefundState.FAILED:
        return RefundResult(refund["id"], state)
    reason = str(refund.get("failure_reason") or "unknown")
    words = f"Stripe could not send it back to the card ({reason.replace('_', ' ')})."
    return RefundResult(refund["id"], state, words, reason)


def refund_update_apply(refund: dict[str, Any]) -> None:
    """Apply a Stripe Refund as an event carries it to the refund Handover recorded."""
    metadata = refund.get("metadata") or {}
    order_id = str(metadata.get("handover_order") or "")
    if not order_id.isdigit():
        logger.info("Stripe refund %s is not one Handover made", refund.get("id"))
        return
    if not Order.objects.filter(pk=int(order_id)).exists():
        logger.warning("Stripe refund %s names no order here", refund.get("id"))
        return
    # The order's lock first: the transaction that asked for the refund holds it until its
    # record is written, so an event that overtakes it waits here instead of missing it.
    order = order_lock(int(order_id))
    found = refund_by_reference(refund["id"]) or refund_by_key(
        str(metadata.get("handover_refund_key") or "")
    )
    if found is None or found.order_id != order.pk:
        logger.warning("Stripe refund %s matches no refund of order %s", refund["id"], order_id)
        return
    key = str(metadata.get("handover_refund_key") or "")
    if key and key != found.attempt_key:
        # A refund of an earlier attempt (one support has retried since): its news is old.
        logger.info("Stripe refund %s is of an earlier attempt at %s", refund["id"], found.pk)
        return
    record = refund_for_update(found.pk)
    assert record is not None
    refund_events_append(order, refund_answer(order, record, _result(refund)))


def charge_refunded_apply(charge: dict[str, Any]) -> None:
    """A charge with refunds: each refund on it, as Stripe lists them (events of newer API
    versions leave the list out of the charge)."""
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None:
        page = stripe_client().v1.refunds.list(params={"charge": charge["id"], "limit": 100})
        listed = [refund.to_dict() for refund in page.data]
    for refund in listed:
        refund_update_apply(refund)


@transaction.atomic
def refund_retry(*, refund_id: int, user: User, text: str) -> ProviderRefund:
    """Support asks the provider again for a refund that failed; ``text``: why now."""
    order_id = ProviderRefund.objects.filter(pk=refund_id).values_list("order_id", flat=True)
    if not user.is_support or not order_id:
        raise NotFound("No such refund.")
    text = text_check(text, field="rationale", limit=MAX_RATIONALE)
    order = order_lock(order_id[0])
    if not reads_as_support(user, buyer_id=order.buyer_id, seller_id=order.seller_id):
        raise PermissionDenied("A refund on your own order is retried by another agent.")
    refund = refund_for_update(refund_id)
    assert refund is not None
    if refund.state != RefundState.FAILED:
        raise Conflict("Only a failed refund is tried again.", code="refund_not_failed")
    refund_events_append(order, refund_retry_record(order, refund, user=user, text=text))
    return refund
