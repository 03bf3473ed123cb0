"""The forms of the payouts page with Stripe: when to be paid out, and a payout of all that is
available in one currency. The services refuse what is not allowed; these keep to the choices."""

from django import forms

from handover.billing.models import PayoutInterval
from handover.web.forms import PlainLabels


class ScheduleForm(PlainLabels, forms.Form):
    interval = forms.ChoiceField(
        label="When to pay out",
        choices=PayoutInterval.choices,
        widget=forms.RadioSelect,
        help_text="A daily or weekly payout sends everything that has cleared by then.",
    )


class PayOutNowForm(forms.Form):
    currency = forms.ChoiceField()

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [(c, c) for c in currencies]
