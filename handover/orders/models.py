from django.conf import settings
from django.db import models

from handover.lib.models import AppendOnly
from handover.orders.rules import Actor, PreviewHold, State


class Order(models.Model):
    offer = models.ForeignKey("offers.Offer", on_delete=models.PROTECT, related_name="orders")
    terms = models.ForeignKey("offers.OfferTerms", on_delete=models.PROTECT, related_name="+")
    terms_sha256 = models.CharField(max_length=64)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_bought"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_sold"
    )
    state = models.CharField(max_length=24, choices=State.choices, default=State.PENDING_PAYMENT)

    # Amounts fixed at placement, in minor units.
    currency = models.CharField(max_length=3)
    price = models.PositiveBigIntegerField()
    buyer_fee = models.PositiveBigIntegerField()
    seller_fee = models.PositiveBigIntegerField()
    total = models.PositiveBigIntegerField()

    # The questions with the buyer's answers; frozen once paid.
    requirements = models.JSONField(default=list)
    delivery_days = models.PositiveIntegerField()
    revisions_included = models.PositiveIntegerField()
    revisions_used = models.PositiveIntegerField(default=0)
    revisions_granted = models.PositiveIntegerField(default=0)
    requires_acceptance = models.BooleanField(default=False)
    auto_complete = models.BooleanField(default=True)

    payment_provider = models.CharField(max_length=16)
    payment_reference = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # The worker acts when timer_at passes (see rules.TIMER_ACTIONS).
    timer_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set by the delivery services while the latest delivery's previews are not all shown.
    preview_hold = models.CharField(max_length=8, choices=PreviewHold.choices, blank=True)
    paused_remaining = models.DurationField(null=True, blank=True)

    # An open cancellation request, and the state it returns to when declined or withdrawn.
    return_state = models.CharField(max_length=24, choices=State.choices, blank=True)
    cancellation_requested_by = models.CharField(max_length=8, choices=Actor.choices, blank=True)
    cancellation_reason = models.TextField(blank=True)
    cancellation_refund = models.PositiveBigIntegerField(null=True, blank=True)
    # While the buyer's bank decides a chargeback: the state a win returns the order to.
    chargeback_return_state = models.CharField(max_length=24, choices=State.choices, blank=True)

    # Money settled out of escrow, and the seller's clearance.
    refunded = models.PositiveBigIntegerField(default=0)
    settled_at = models.DateTimeField(null=True, blank=True)
    clears_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total=models.F("price") + models.F("buyer_fee")),
                name="order_total_is_price_plus_fee",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded__lte=models.F("total")), name="order_refund_le_total"
            ),
            models.CheckConstraint(
                condition=~models.Q(buyer=models.F("seller")), name="order_buyer_not_seller"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.state})"

    @property
    def revisions_left(self) -> int:
        return self.revisions_included + self.revisions_granted - self.revisions_used


class Message(AppendOnly):
    """A chat message on an order; never edited or deleted."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=8, choices=Actor.choices)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Message {self.pk} on order {self.order_id}"


class Attachment(AppendOnly):
    """A reference file the buyer sent with a requirement answer or a chat message: their own
    footage, photos or brand files, not work under escrow, so both parties read it at once.
    Its bytes were streamed to storage, hashed and sniffed as a delivery's are."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Exactly one of the two: the chat message it came with, or the requirement it answers
    # (an index into the order's requirements).
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    requirement = models.PositiveSmallIntegerField(null=True, blank=True)
    storage_key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=255, help_text="The uploaded name, for display only.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)  # delivery.kinds.Kind, decided from the bytes
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message__isnull=True) ^ models.Q(requirement__isnull=True),
                name="attachment_message_or_requirement",
            ),
        ]

    def __str__(self) -> str:
        return self.name
