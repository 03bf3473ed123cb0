"""What the admin pages of several apps share."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdmin:
    """For a ``ModelAdmin`` or an inline: rows are shown, never added, changed or deleted
    here, because the services that write them also leave their events and ledger entries."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
