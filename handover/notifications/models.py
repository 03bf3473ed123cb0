from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class OutboxState(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (or in flight, see rules.CLAIM_LEASE)
    SENT = "sent"
    DEAD = "dead"  # every attempt failed, or there is nowhere to send it


class Webhook(models.Model):
    """A user's endpoint for the events of the orders they buy or sell."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    # Kept as given, unlike API tokens: every delivery is signed with it (rules.signature).
    secret = models.CharField(max_length=64)
    # Event types to send; empty sends every event of the owner's orders.
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "active"], name="webhook_owner_active")]

    def __str__(self) -> str:
        return f"Webhook {self.pk} of {self.owner_id}: {self.url}"


class Outbox(models.Model):
    """One message to send, written in the transaction of the event that caused it and sent
    by the worker afterwards: a crash between the two loses nothing (STYLE.md rule 11)."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    # The addressee of an e-mail; the address is read when it is sent.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by outbox_inbox
    )
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.ForeignKey("evidence.Event", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)  # a webhook's JSON body
    state = models.CharField(max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["recipient", "channel", "id"], name="outbox_inbox"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(channel=Channel.EMAIL, recipient__isnull=False, webhook__isnull=True)
                    | models.Q(
                        channel=Channel.WEBHOOK, recipient__isnull=True, webhook__isnull=False
                    )
                ),
                name="outbox_one_addressee",
            )
        ]

    def __str__(self) -> str:
        return f"Outbox {self.pk} {self.channel} ({self.state})"
