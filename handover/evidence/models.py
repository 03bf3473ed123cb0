from django.conf import settings
from django.db import models

from handover.lib.canonical import CanonicalJSONEncoder
from handover.lib.models import AppendOnly


class EventType(models.TextChoices):
    ORDER_PLACED = "order.placed"
    ANSWERS_UPDATED = "order.answers_updated"
    PAYMENT_STARTED = "payment.started"
    # A card payment the provider refused (the order waits for another try), and one that
    # arrived after the order was abandoned, given back in full.
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_RETURNED = "payment.returned"
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
    DISPUTE_ASSIGNED = "support.dispute_assigned"
    REVIEW_SUBMITTED = "review.submitted"
    REPORT_FILED = "report.filed"
    AUTO_COMPLETE_CHANGED = "order.auto_complete_changed"
    REVISION_GRANTED = "order.revision_granted"
    FUNDS_CLEARED = "ledger.cleared"
    PAYOUT_MADE = "ledger.payout"
    OFFER_CREATED = "offer.created"
    OFFER_TERMS_VERSIONED = "offer.terms_versioned"
    # Support's acts on a user's standing: events of no order (trust.services).
    REPORT_HANDLED = "report.handled"
    USER_WARNED = "user.warned"
    USER_SUSPENDED = "user.suspended"
    USER_REINSTATED = "user.reinstated"
    ATTACHMENT_DOWNLOADED = "file.attachment_downloaded"
    # A refund through the payment provider: confirmed (the money left), failed, tried again.
    REFUND_SENT = "ledger.refund_sent"
    REFUND_FAILED = "ledger.refund_failed"
    REFUND_RETRIED = "ledger.refund_retried"
    # What the seller tells the buyer's bank in answer to a chargeback (set or replaced), and an
    # internal dispute closed without a decision because the bank decided the chargeback.
    CHARGEBACK_NOTE = "chargeback.seller_note"
    DISPUTE_CLOSED = "dispute.closed"


class Actor(models.TextChoices):
    """The role in which someone (or something) took part in an order: an event's
    ``actor_role``. Here, in the core, so that every app reading events shares it."""

    BUYER = "buyer"
    SELLER = "seller"
    SUPPORT = "support"
    TIMER = "timer"
    PROVIDER = "provider"


class Event(AppendOnly):
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
    # Canonical JSON, as the body holds it: SQLite keeps the column as that text, and
    # `handover verify --log` compares the two as they are (PostgreSQL's jsonb keeps its own form).
    payload = models.JSONField(default=dict, encoder=CanonicalJSONEncoder)
    # What is hashed: the canonical JSON of the fields above and prev_hash (see
    # evidence.chain). The columns are queryable copies; the body is the record.
    body = models.TextField()
    # The order's previous event's hash ("" for its first, and for events of no order).
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class LogEntry(models.Model):
    """An event's place in the deployment-wide Merkle log (RFC 9162). The worker appends
    events in the order it finds them committed; ``seq`` is the leaf index."""

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="log_entry")
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"leaf {self.seq}: event {self.event_id}"


class TreeHead(models.Model):
    """A signed statement of the log's size and root at a time."""

    size = models.BigIntegerField(unique=True)
    root = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["size"]
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"tree head {self.size} {self.root[:12]}"


class SealedValues(models.Model):
    """What an event keeps from the order's parties (where a file was fetched from, with which
    browser): the event's payload holds their salted hash under ``"sealed"`` (``chain.seal_hash``),
    so support can check the values it reads here against the signed record. Unlike the event,
    the values may be erased (a retention period) without breaking any chain or proof."""

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.PROTECT, related_name="sealed"
    )
    salt = models.CharField(max_length=32)
    values = models.JSONField()

    def __str__(self) -> str:
        return f"sealed values of event {self.event_id}"
