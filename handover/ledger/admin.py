from django.contrib import admin

from handover.ledger.models import Account, Entry, LedgerTransaction
from handover.lib.admin import ReadOnlyAdmin


class EntryInline(ReadOnlyAdmin, admin.TabularInline):
    model = Entry
    extra = 0


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("name", "currency", "kind", "balance")
    list_filter = ("kind", "currency")
    search_fields = ("name",)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "order", "currency", "memo")
    list_filter = ("kind",)
    inlines = [EntryInline]
