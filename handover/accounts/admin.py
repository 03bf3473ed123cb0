from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from handover.accounts.models import ApiToken, User


@admin.register(User)
class HandoverUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Handover", {"fields": ("role",)}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "label", "created_at")
    readonly_fields = ("digest", "prefix", "created_at")
