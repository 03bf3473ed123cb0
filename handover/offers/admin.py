from django.contrib import admin

from handover.offers.models import Offer, OfferTerms


class OfferTermsInline(admin.TabularInline):
    model = OfferTerms
    extra = 0
    readonly_fields = ("version", "text", "sha256", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "seller", "price", "currency", "is_active")
    list_filter = ("is_active", "currency")
    inlines = [OfferTermsInline]
