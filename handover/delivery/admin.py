from django.contrib import admin

from handover.delivery.models import Delivery, DeliveryFile


class DeliveryFileInline(admin.TabularInline):
    model = DeliveryFile
    extra = 0
    readonly_fields = ("storage_key", "name", "size", "sha256", "content_type")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery and its files (their kind, their preview) change only through
    the delivery services, which leave events."""

    list_display = ("id", "order", "created_at", "released_early_at")
    readonly_fields = ("order", "message", "created_at", "released_early_at")
    inlines = [DeliveryFileInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
