from django.conf import settings
from django.db import models

from handover.lib.models import AppendOnly


class Outcome(models.TextChoices):
    RELEASE = "release"  # the seller is paid in full
    REFUND = "refund"  # the buyer gets everything back
    SPLIT = "split"  # the buyer gets part back, the rest is settled to the seller
    # Closed without a decision: the bank decided a chargeback on the order, and the money
    # went where it said (the rationale says so). Support never decides this outcome.
    CLOSED = "closed"


class Dispute(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(  # empty when the cancellation timer opened it
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_by_role = models.CharField(max_length=8)
    # The party support opened it for ("buyer" or "seller"); empty when a party or the timer did.
    opened_for = models.CharField(max_length=8, blank=True)
    reason = models.TextField()
    opened_at = models.DateTimeField()
    state_before = models.CharField(max_length=24)

    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    refund = models.PositiveBigIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)

    # The agent working it ("assign to me"); each assignment is an event on the order's record.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(decided_at__isnull=True),
                name="one_open_dispute_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on order {self.order_id}"


class SupportNote(AppendOnly):
    """Support's internal note on a dispute; never edited or deleted, never shown to the parties."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Note {self.pk} on dispute {self.dispute_id}"
