"""The forms of the reports desk: each action on a report or on a user's standing asks for a
rationale. What the text may hold (no bidi controls, NUL) is the services' call, and their
words show beside the field."""

from django import forms

from handover.trust.rules import MAX_RATIONALE, MAX_WARNING_TEXT
from handover.web.forms import PlainLabels

REPORT_STATES = {"open": "Waiting", "handled": "Handled", "all": "All"}


def _rationale(help_text: str) -> forms.CharField:
    return forms.CharField(
        label="Rationale",
        max_length=MAX_RATIONALE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


class StandingForm(PlainLabels, forms.Form):
    """An action on a report or a user, taken from a report's page (``report``) or the
    user's; its fields get ids of their own, as a page holds several of these forms."""

    prefix_name = ""
    # The report the action is taken from; the view reads it (``reports._posted_report``).
    report = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.prefix_name}_%s")
        super().__init__(*args, **kwargs)


class HandleForm(StandingForm):
    prefix_name = "handle"
    rationale = _rationale(
        "What you found and did. Only support reads it; the reporter is not told."
    )


class WarnForm(StandingForm):
    prefix_name = "warn"
    text = forms.CharField(
        label="Warning to the user",
        max_length=MAX_WARNING_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="They get it by e-mail and see it on their next page.",
    )
    rationale = _rationale("Why you warn them. Only support reads it.")


class SuspendForm(StandingForm):
    prefix_name = "suspend"
    rationale = _rationale(
        "Why you suspend them. Only support reads it; they are told that support suspended them."
    )


class ReinstateForm(StandingForm):
    prefix_name = "reinstate"
    rationale = _rationale("Why they may use Handover again. Only support reads it.")
