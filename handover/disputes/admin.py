from django.contrib import admin

from handover.disputes.models import Dispute, SupportNote
from handover.lib.admin import ReadOnlyAdmin


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: decisions go through the API so that money and evidence move together."""

    list_display = ("id", "order", "opened_by_role", "opened_at", "outcome", "decided_at")
    list_filter = ("outcome",)


@admin.register(SupportNote)
class SupportNoteAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: notes go through the API so that each one leaves its hash on the record."""

    list_display = ("id", "dispute", "author", "created_at")
