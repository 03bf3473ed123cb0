"""Reads of the refunds sent through the payment provider."""

from django.db.models import QuerySet

from handover.payments.models import ProviderRefund, RefundState


def refunds_of_order(order_id: int) -> list[ProviderRefund]:
    return list(ProviderRefund.objects.filter(order_id=order_id))


def refunds_failed() -> QuerySet[ProviderRefund]:
    """The refunds waiting for support, the longest waiting first."""
    return ProviderRefund.objects.filter(state=RefundState.FAILED).order_by("updated_at", "pk")


def refund_for_update(refund_id: int) -> ProviderRefund | None:
    """The refund, its row locked: a webhook and a retry never both act on it."""
    return ProviderRefund.objects.select_for_update().filter(pk=refund_id).first()


def refund_by_reference(reference: str) -> ProviderRefund | None:
    return ProviderRefund.objects.filter(reference=reference).first() if reference else None


def refund_by_key(key: str) -> ProviderRefund | None:
    """The refund whose latest attempt used this idempotency key."""
    return ProviderRefund.objects.filter(attempt_key=key).first() if key else None
