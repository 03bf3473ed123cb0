from django.conf import settings
from django.db import models

from handover.lib.models import AppendOnly


class AccountKind(models.TextChoices):
    WORLD = "world"  # money in and out through the payment provider
    ESCROW = "escrow"
    # A refund in flight: out of the order's escrow, not yet out through the provider.
    REFUNDING = "refunding"
    SELLER_PENDING = "seller_pending"
    SELLER_AVAILABLE = "seller_available"
    PLATFORM_FEES = "platform_fees"
    PLATFORM_LOSSES = "platform_losses"


# Accounts that hold money for someone and so may never go below zero. A seller's available
# funds may: a chargeback on an order already paid out leaves the seller owing it, netted
# against later earnings (a payout never sends more than the balance).
NON_NEGATIVE_KINDS = (
    AccountKind.ESCROW,
    AccountKind.REFUNDING,
    AccountKind.SELLER_PENDING,
    AccountKind.PLATFORM_FEES,
)


class TransactionKind(models.TextChoices):
    CAPTURE = "capture"  # world -> escrow
    SETTLEMENT = "settlement"  # escrow -> refunding, seller pending, platform fees
    ADJUSTMENT = "adjustment"  # a refund decided after completion, taken back into refunding
    # refunding -> world: the provider confirmed a refund. Not once per order: a refund raised
    # after settlement is a second one.
    REFUND = "refund"
    CLEARANCE = "clearance"  # seller pending -> available
    # Escrow, seller and fees -> world (earlier versions booked a shortfall to platform losses).
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSAL = "chargeback_reversal"  # a won chargeback: the exact reverse
    # world -> refunding: a confirmed refund the provider gave back (it failed after all), the
    # exact reverse of its ``refund``, under the same reference. It waits for another attempt.
    REFUND_RETURNED = "refund_returned"
    PAYOUT = "payout"  # seller available -> world


# At most one of each of these per order; the database refuses a second.
ONCE_PER_ORDER = (
    TransactionKind.CAPTURE,
    TransactionKind.SETTLEMENT,
    TransactionKind.ADJUSTMENT,
    TransactionKind.CLEARANCE,
    TransactionKind.CHARGEBACK,
    TransactionKind.CHARGEBACK_REVERSAL,
)


class Account(models.Model):
    """A balance; the sum of its entries, kept here so the database can refuse a negative one."""

    name = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "currency"], name="account_name_unique"),
            models.CheckConstraint(
                condition=models.Q(balance__gte=0) | ~models.Q(kind__in=NON_NEGATIVE_KINDS),
                name="account_balance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class LedgerTransaction(AppendOnly):
    kind = models.CharField(max_length=20, choices=TransactionKind.choices)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()
    memo = models.CharField(max_length=200, blank=True)
    # The payment provider's id for the money this moved (a PaymentIntent, Refund, Transfer or
    # Dispute); ``handover reconcile`` matches the provider's records against it.
    reference = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=models.Q(kind__in=ONCE_PER_ORDER),
                name="ledger_once_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Entry(AppendOnly):
    """One leg of a transaction: a signed amount in minor units (credit positive)."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_non_zero")
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"
