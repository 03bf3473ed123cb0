from django.contrib import admin

from handover.delivery.models import Delivery, DeliveryFile
from handover.lib.admin import ReadOnlyAdmin


class DeliveryFileInline(ReadOnlyAdmin, admin.TabularInline):
    model = DeliveryFile
    extra = 0
    readonly_fields = ("storage_key", "name", "size", "sha256", "content_type")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: a delivery and its files (their kind, their preview) change only through
    the delivery services, which leave events."""

    list_display = ("id", "order", "created_at", "released_early_at")
    readonly_fields = ("order", "message", "created_at", "released_early_at")
    inlines = [DeliveryFileInline]
