from django.db import models

from handover.lib.models import AppendOnly


class WebhookEvent(AppendOnly):
    """A provider's webhook event, stored when it is applied: a replay of the same event id
    finds it here and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField()  # when the provider made the event
    received_at = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_id"])]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# --- chargebacks: the provider's disputes and Handover's answer to them ----------------------


class DisputeOutcome(models.TextChoices):
    NONE = "", "open"
    WON = "won"  # the bank decided for the seller (or an inquiry closed without a chargeback)
    LOST = "lost"


class ProviderDispute(models.Model):
    """A chargeback as the payment provider reports it (Stripe's Dispute, or one support
    records for the ``manual`` provider), and Handover's answer to the bank."""

    dispute_id = models.CharField(max_length=255, unique=True)  # dp_..., or support's reference
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16)
    amount = models.BigIntegerField()  # in the provider's units (Stripe's), as it reports
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, blank=True)  # the provider's word for it
    due_by = models.DateTimeField(null=True, blank=True)  # the bank's deadline for evidence
    seller_note = models.TextField(blank=True)
    held_at = models.DateTimeField(null=True, blank=True)  # the order went on hold
    evidence_file = models.CharField(max_length=255, blank=True)  # the uploaded PDF, file_...
    submitted_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=DisputeOutcome.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["submitted_at", "due_by"])]

    def __str__(self) -> str:
        return f"dispute {self.dispute_id} on order {self.order_id}"
