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
    onboarding and on ``account.updated``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements = models.JSONField(default=list)  # what Stripe still asks for (currently_due)
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
