from django.contrib import admin

from handover.evidence.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "order", "type", "actor", "actor_role")
    list_filter = ("type",)
    search_fields = ("order__id", "actor__username")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
