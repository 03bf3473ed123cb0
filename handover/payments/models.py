from django.db import models


class RefundState(models.TextChoices):
    PENDING = "pending"  # asked for; the provider has not confirmed it yet
    SUCCEEDED = "succeeded"  # confirmed: the ledger posted it out to the world
    FAILED = "failed"  # refused or failed at the provider; waits for support's retry


# --- refunds sent through the payment provider -------------------------------------------------


class ProviderRefund(models.Model):
    """One refund Handover asked the payment provider for, written in the transaction of the
    order's move that decided it, and updated as the provider answers (at once, or by webhook).

    While it is not ``succeeded`` its amount waits in the order's refunding account.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=20)
    amount = models.BigIntegerField()  # minor units of ``currency``
    currency = models.CharField(max_length=3)
    # Which refund of the order this is (its settlement, or a raise to a given total): the
    # idempotency key of its first attempt, so one decision never makes two refunds.
    key = models.CharField(max_length=100, unique=True)
    attempt_key = models.CharField(max_length=120)  # the idempotency key of the latest attempt
    reference = models.CharField(max_length=255, blank=True, db_index=True)  # the provider's id
    state = models.CharField(max_length=16, choices=RefundState.choices)
    failure = models.CharField(max_length=500, blank=True)  # the provider's words, for support
    failure_code = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "updated_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of order {self.order_id}: {self.state}"
