from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm

from handover.accounts.models import User
from handover.orders.services import MAX_ANSWER_LENGTH, MAX_TEXT_LENGTH


class PlainLabels:
    """Labels without Django's trailing colon: several of ours are questions."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(PlainLabels, AuthenticationForm):
    pass


class PasswordForm(PlainLabels, PasswordChangeForm):
    pass


class SignupForm(PlainLabels, UserCreationForm):
    """Django's sign-up fields and checks, so each error sits by its field; the account
    itself is made by ``accounts.services.user_create``, which checks again."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        email = self.fields["email"]
        email.required = True
        email.help_text = "Where order notices go."
        email.widget.attrs["autocomplete"] = "email"


def _text(label: str, *, limit: int, rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=limit, widget=forms.Textarea(attrs={"rows": rows})
    )


class OrderForm(PlainLabels, forms.Form):
    """One answer per requirement question of the offer."""

    def __init__(self, *args, questions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for index, question in enumerate(questions):
            self.fields[f"answer_{index}"] = _text(question, limit=MAX_ANSWER_LENGTH, rows=3)

    def answers(self) -> list[str]:
        return [self.cleaned_data[f"answer_{i}"] for i in range(len(self.questions))]


class MessageForm(PlainLabels, forms.Form):
    body = _text("Message", limit=MAX_TEXT_LENGTH, rows=3)


class RevisionForm(PlainLabels, forms.Form):
    message = _text("What should change?", limit=MAX_TEXT_LENGTH, rows=5)


class AutoCompleteForm(PlainLabels, forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "on"), ("off", "off")], coerce=lambda value: value == "on"
    )
