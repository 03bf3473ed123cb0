from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    ORDER_PLACED = "order.placed"
    ANSWERS_UPDATED = "order.answers_updated"
    PAYMENT_STARTED = "payment.started"
    ORDER_TRANSITION = "order.transition"
    MESSAGE_POSTED = "message.posted"
    DELIVERY_CREATED = "delivery.created"
    DELIVERY_RELEASED_EARLY = "delivery.released_early"
    ORIGINAL_DOWNLOADED = "file.original_downloaded"
    ORIGINAL_REFUSED = "file.original_refused"
    PREVIEW_MADE = "file.preview_made"
    PREVIEW_FAILED = "file.preview_failed"
    PREVIEW_VIEWED = "file.preview_viewed"
    SUPPORT_NOTE = "support.note"
    REVIEW_SUBMITTED = "review.submitted"
    REPORT_FILED = "report.filed"
    AUTO_COMPLETE_CHANGED = "order.auto_complete_changed"
    REVISION_GRANTED = "order.revision_granted"
    FUNDS_CLEARED = "ledger.cleared"
    PAYOUT_MADE = "ledger.payout"
    OFFER_CREATED = "offer.created"
    OFFER_TERMS_VERSIONED = "offer.terms_versioned"


class Event(models.Model):
    """One thing that happened. Written only by ``event_append``; never updated or deleted."""

    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    type = models.CharField(max_length=48, choices=EventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(max_length=16)
    created_at = models.DateTimeField(db_index=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("events are append-only")
