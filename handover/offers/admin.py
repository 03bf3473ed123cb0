from django.contrib import admin

from handover.lib.admin import ReadOnlyAdmin
from handover.offers.models import Offer, OfferTerms


class OfferTermsInline(ReadOnlyAdmin, admin.TabularInline):
    """Read-only: a change of terms is a new version, made by the offer services."""

    model = OfferTerms
    extra = 0
    readonly_fields = ("version", "text", "sha256", "created_at")  # created_at is not editable


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "seller", "price", "currency", "is_active")
    list_filter = ("is_active", "currency")
    inlines = [OfferTermsInline]
