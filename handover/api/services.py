from django.conf import settings
from django.utils import timezone

from handover.api.models import IdempotencyRecord


def idempotency_prune() -> int:
    """Delete stored answers older than HANDOVER_IDEMPOTENCY_TTL; a retry after that runs anew."""
    cutoff = timezone.now() - settings.HANDOVER_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
