from django.conf import settings
from django.db import models

from handover.lib.canonical import json_sha256
from handover.lib.models import AppendOnly
from handover.trust.rules import MAX_RATING, MIN_RATING, review_sha256


class PartyRole(models.TextChoices):
    BUYER = "buyer"
    SELLER = "seller"


class ReportReason(models.TextChoices):
    OFF_PLATFORM_PAYMENT = "off_platform_payment"  # asked to pay or be paid outside escrow
    ABUSIVE = "abusive"
    FRAUD = "fraud"
    SPAM = "spam"
    OTHER = "other"


class RoleCounts(models.Model):
    """A user's record in one role, as counters: kept by the order and dispute services in the
    transaction of each change (``services.record_*``), so trust reads them without knowing
    orders. An order counts while it rests in a closed state with its payment taken; the
    ``cancellations_*`` columns are the fields of ``rules.Cancellations``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=8, choices=PartyRole.choices)
    completed = models.PositiveIntegerField(default=0)
    charged_back = models.PositiveIntegerField(default=0)
    cancellations_total = models.PositiveIntegerField(default=0)
    cancellations_by_buyer = models.PositiveIntegerField(default=0)
    cancellations_by_seller = models.PositiveIntegerField(default=0)
    cancellations_by_timer = models.PositiveIntegerField(default=0)
    cancellations_by_support = models.PositiveIntegerField(default=0)
    cancellations_agreed = models.PositiveIntegerField(default=0)
    cancellations_after_release = models.PositiveIntegerField(default=0)
    cancellations_by_buyer_after_release = models.PositiveIntegerField(default=0)
    disputes_opened = models.PositiveIntegerField(default=0)
    disputes_won = models.PositiveIntegerField(default=0)
    disputes_lost = models.PositiveIntegerField(default=0)
    disputes_split = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="one_count_row_per_user_role"),
            models.CheckConstraint(
                condition=models.Q(role__in=PartyRole.values), name="role_counts_role"
            ),
        ]

    def __str__(self) -> str:
        return f"Counts of user {self.user_id} as {self.role}"


class Review(AppendOnly):
    """One party's review of the other after an order; written once, never edited.

    ``salt`` makes the hash in the order's ``review.submitted`` event a commitment: the other
    party sees the hash at once but cannot guess the rating from it (five ratings, an empty
    text) until the review becomes visible, salt included, and anyone can check it.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    author_role = models.CharField(max_length=8, choices=PartyRole.choices)
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subject", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["order", "author"], name="one_review_per_order_author"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=MIN_RATING, rating__lte=MAX_RATING),
                name="review_rating_in_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(author=models.F("subject")), name="review_not_of_self"
            ),
            models.CheckConstraint(
                condition=models.Q(author_role__in=PartyRole.values), name="review_author_role"
            ),
        ]

    def __str__(self) -> str:
        return f"Review {self.pk} on order {self.order_id}"

    @property
    def sha256(self) -> str:
        """The commitment its order's ``review.submitted`` event carries."""
        return review_sha256(
            order_id=self.order_id,
            author_id=self.author_id,
            subject_id=self.subject_id,
            author_role=self.author_role,
            rating=self.rating,
            text=self.text,
            salt=self.salt,
        )


class Report(models.Model):
    """A user reporting another to support, about an order of theirs or in general."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_filed"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_received"
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    reason = models.CharField(max_length=24, choices=ReportReason.choices)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["subject"]),
            models.Index(fields=["reporter", "subject", "handled_at"]),
            models.Index(fields=["handled_at", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reporter=models.F("subject")), name="report_not_of_self"
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=ReportReason.values), name="report_reason_known"
            ),
            models.CheckConstraint(
                condition=models.Q(handled_at__isnull=True, handled_by__isnull=True)
                | models.Q(handled_at__isnull=False, handled_by__isnull=False),
                name="report_handled_with_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} on user {self.subject_id}"

    @property
    def sha256(self) -> str:
        """The commitment its order's ``report.filed`` event carries."""
        return json_sha256(
            {
                "report_id": self.pk,
                "reporter_id": self.reporter_id,
                "subject_id": self.subject_id,
                "order_id": self.order_id,
                "reason": self.reason,
                "text": self.text,
            }
        )


class AccountWarning(models.Model):
    """Support's warning to a user: the text is theirs to read (by e-mail, and on their next
    page, which sets ``seen_at``); the rationale is support's own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.PROTECT, related_name="warnings"
    )
    text = models.TextField()
    rationale = models.TextField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "seen_at"])]

    def __str__(self) -> str:
        return f"Warning {self.pk} to user {self.user_id}"


class Suspension(models.Model):
    """A user's account suspended by support, from ``started_at`` until reinstated
    (``ended_at``); at most one is open per user. While it is open the user cannot sign in or
    use a token, and their offers take no orders; their open orders go on to an end."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.PROTECT, related_name="suspensions"
    )
    rationale = models.TextField()
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_rationale = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_suspension_per_user",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, ended_by__isnull=True)
                | models.Q(ended_at__isnull=False, ended_by__isnull=False),
                name="suspension_ended_by_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"Suspension {self.pk} of user {self.user_id}"
