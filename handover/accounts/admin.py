from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from handover.accounts.forms import UsernameRules
from handover.accounts.models import ApiToken, User


class _UserAddForm(UsernameRules, AdminUserCreationForm):
    pass


class _UserChangeForm(UsernameRules, UserChangeForm):
    pass


@admin.register(User)
class HandoverUserAdmin(UserAdmin):
    add_form = _UserAddForm
    form = _UserChangeForm
    list_display = ("username", "email", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Handover", {"fields": ("role",)}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "label", "created_at")
    readonly_fields = ("digest", "prefix", "created_at")
