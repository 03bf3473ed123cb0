from django.conf import settings
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


# Payouts with Stripe Connect: the seller's linked Express account and the schedule they pick.


class ConnectedAccount(models.Model):
    """A seller's Stripe Express account, as Stripe last described it (on the return from
    onboarding and on ``account.updated``). ``stripe_state_at`` is when that description was
    Stripe's: the event's ``created``, or when Stripe was asked. An older event is ignored."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements = models.JSONField(default=list)  # what Stripe still asks for (currently_due)
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.stripe_account_id} of user {self.user_id}"

    @property
    def ready(self) -> bool:
        """Stripe accepts transfers to it (onboarding done, payouts enabled)."""
        return self.details_submitted and self.payouts_enabled


class PayoutInterval(models.TextChoices):
    ON_REQUEST = "on_request", "When I ask"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"


class PayoutSchedule(models.Model):
    """When the seller's cleared funds are paid out; on request unless they pick otherwise."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_schedule"
    )
    interval = models.CharField(
        max_length=16, choices=PayoutInterval.choices, default=PayoutInterval.ON_REQUEST
    )
    last_run_at = models.DateTimeField(null=True, blank=True)  # the last scheduled payout
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.interval} for user {self.user_id}"


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
