from django.contrib import admin

from handover.orders.models import Message, Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: every change goes through the order services and leaves an event."""

    list_display = ("id", "state", "buyer", "seller", "total", "currency", "created_at")
    list_filter = ("state", "currency")
    search_fields = ("id", "buyer__username", "seller__username")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "author", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
