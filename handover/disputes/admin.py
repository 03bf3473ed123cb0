from django.contrib import admin

from handover.disputes.models import Dispute


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """Read-only: decisions go through the API so that money and evidence move together."""

    list_display = ("id", "order", "opened_by_role", "opened_at", "outcome", "decided_at")
    list_filter = ("outcome",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
