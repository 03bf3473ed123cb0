import hashlib

from django.conf import settings
from django.db import models

from handover.lib.models import AppendOnly


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Offer(models.Model):
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers"
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    price = models.PositiveBigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3)
    delivery_days = models.PositiveIntegerField()
    revisions = models.PositiveIntegerField()
    requirements = models.JSONField(default=list, help_text="Questions the buyer answers.")
    requires_acceptance = models.BooleanField(default=False)
    risk_threshold = models.JSONField(
        null=True,
        blank=True,
        help_text="When set, orders from buyers whose record crosses it wait for acceptance.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_positive"),
            models.CheckConstraint(
                condition=models.Q(delivery_days__gt=0), name="offer_delivery_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def current_terms(self) -> "OfferTerms":
        return self.terms_versions.order_by("-version").first()  # type: ignore[return-value]


class OfferTerms(AppendOnly):
    """One version of an offer's terms of service; immutable, orders point at the version."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="terms_versions")
    version = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offer", "version"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "version"], name="offer_terms_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} v{self.version}"

    def save(self, *args, **kwargs):
        self.sha256 = text_sha256(self.text)
        super().save(*args, **kwargs)  # a new version is a new row: AppendOnly refuses an edit
