from django.contrib import admin

from handover.lib.admin import ReadOnlyAdmin
from handover.orders.models import Message, Order


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: every change goes through the order services and leaves an event."""

    list_display = ("id", "state", "buyer", "seller", "total", "currency", "created_at")
    list_filter = ("state", "currency")
    search_fields = ("id", "buyer__username", "seller__username")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("id", "order", "author", "created_at")
