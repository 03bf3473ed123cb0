from django.contrib import admin

from handover.evidence.models import Event
from handover.lib.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("id", "created_at", "order", "type", "actor", "actor_role")
    list_filter = ("type",)
    search_fields = ("order__id", "actor__username")
