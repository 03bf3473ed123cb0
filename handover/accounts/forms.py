from typing import Any

from django import forms

from handover.accounts.services import username_check
from handover.lib.errors import HandoverError


class UsernameRules(forms.ModelForm):
    """Our rules on top of Django's for a form that sets a username (sign-up, the admin's
    add and change pages): only when the name changes, so that an account whose name
    predates them can still be edited (or deactivated)."""

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        name = self.cleaned_data.get("username")
        if name and "username" in self.changed_data:
            try:
                username_check(name, account_id=self.instance.pk)
            except HandoverError as error:
                self.add_error("username", error.detail)
        return cleaned
