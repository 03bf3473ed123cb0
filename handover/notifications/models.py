from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class OutboxState(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (or in flight, see rules.CLAIM_LEASE)
    SENT = "sent"
    DEAD = "dead"  # every attempt failed, or there is nowhere to send it


class Kind(models.TextChoices):
    """What a notification is about; users choose by kind which e-mails they get
    (``rules.ALWAYS_MAILED`` names the kinds they cannot switch off)."""

    ORDERS = "orders", "Order progress"
    MESSAGES = "messages", "Messages"
    REVIEWS = "reviews", "Reviews"
    REPORTS = "reports", "Reports to support"
    MONEY = "money", "Payments and earnings"
    CANCELLATIONS = "cancellations", "Cancellations and refunds"
    DISPUTES = "disputes", "Disputes"


class Notification(models.Model):
    """What one user is told of one event, listed on their notifications page whatever e-mails
    they chose; its e-mail, when they get that kind's, is the Outbox row ``email``."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by notification_list
    )
    event = models.ForeignKey("evidence.Event", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # The web page it is about, from the site's root ("/orders/7/"); e-mails prefix the base URL.
    path = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_list"),
            # The top bar counts these on every page.
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], name="notification_once")
        ]

    def __str__(self) -> str:
        return f"Notification {self.pk} to {self.recipient_id}: {self.subject}"


# The kinds whose e-mails cannot be switched off; rules.ALWAYS_MAILED says why to the user.
LOCKED_KINDS = (Kind.MONEY, Kind.CANCELLATIONS, Kind.DISPUTES)


class EmailOptOut(models.Model):
    """A kind of e-mail a user chose not to get (the notifications page still lists them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_opt_out_once"),
            # Money and disputes are always mailed, whatever reaches the table.
            models.CheckConstraint(
                condition=~models.Q(kind__in=[k.value for k in LOCKED_KINDS]),
                name="email_opt_out_not_locked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} gets no {self.kind} e-mails"


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
    # The in-app notification an e-mail was written for (none on rows older than notifications).
    notification = models.OneToOneField(
        Notification, null=True, blank=True, on_delete=models.PROTECT, related_name="email"
    )
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
