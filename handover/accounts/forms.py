from typing import Any

from django import forms

from handover.accounts.rules import time_zone_choices
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


class _Plain(forms.Form):
    """Labels without Django's trailing colon, as every form of the web pages."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class EmailChangeForm(_Plain):
    email = forms.EmailField(
        label="New e-mail address",
        max_length=254,
        help_text="We send a link there; your address changes when you follow it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class TimeZoneForm(_Plain):
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Every time on the pages and in e-mails is shown in it.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, name.replace("_", " ")) for name in time_zone_choices()]
