"""The record of the refunds sent through the payment provider. Callers hold the order's row
lock and an open transaction (``orders.refunds`` and ``billing.refunds`` call these)."""

from django.utils import timezone

from handover.payments.models import ProviderRefund, RefundState
from handover.payments.providers import RefundResult


def provider_refund_create(*, order, amount: int, key: str) -> ProviderRefund:
    """The record of a refund about to be asked for: pending until the provider answers."""
    now = timezone.now()
    return ProviderRefund.objects.create(
        order=order,
        provider=order.payment_provider,
        amount=amount,
        currency=order.currency,
        key=key,
        attempt_key=key,
        state=RefundState.PENDING,
        created_at=now,
        updated_at=now,
    )


def provider_refund_answer(refund: ProviderRefund, result: RefundResult) -> None:
    """Keep what the provider answered; a confirmed refund keeps when it was confirmed."""
    now = timezone.now()
    refund.reference = result.reference or refund.reference
    refund.state = result.state
    refund.failure = result.failure[:500] if result.state == RefundState.FAILED else ""
    refund.failure_code = result.failure_code[:100] if result.state == RefundState.FAILED else ""
    if result.state == RefundState.SUCCEEDED:
        refund.confirmed_at = now
    refund.updated_at = now
    refund.save(
        update_fields=[
            "reference",
            "state",
            "failure",
            "failure_code",
            "confirmed_at",
            "updated_at",
        ]
    )


def retry_key(refund: ProviderRefund) -> str:
    """The idempotency key of the next attempt at a failed refund.

    The same key when Stripe never answered (the first request may have made the refund: the
    same key cannot make a second); a new one when it did answer, since the same key would
    only replay that answer (a refusal, or the refund that failed).
    """
    if refund.failure_code == "connection":
        return refund.attempt_key
    return f"{refund.key}-retry-{refund.attempts + 1}"


def provider_refund_retry_start(refund: ProviderRefund) -> None:
    """Another attempt at a failed refund: pending again, under the key ``retry_key`` gives."""
    refund.attempt_key = retry_key(refund)
    refund.attempts += 1
    refund.state = RefundState.PENDING
    refund.updated_at = timezone.now()
    refund.save(update_fields=["attempt_key", "attempts", "state", "updated_at"])
