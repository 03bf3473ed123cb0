"""The forms of the support desk and of the balance page. Amounts are typed in major units
and kept exact (``amounts.amount_parse``); whether an amount is allowed is the services'
call, and their words show beside the field."""

from dataclasses import dataclass
from typing import Any

from django import forms

from handover.disputes.models import Outcome
from handover.disputes.services import MAX_NOTE, MAX_RATIONALE, decision_refund
from handover.ledger.rules import Shares, shares_delta
from handover.ledger.services import order_shares
from handover.lib.errors import InvalidInput
from handover.lib.money import CURRENCIES, format_amount
from handover.orders.models import Order
from handover.orders.rules import State
from handover.web.amounts import amount_parse, amount_text
from handover.web.forms import PlainLabels

OUTCOME_CHOICES = [
    (Outcome.RELEASE.value, "Release: the seller is paid in full"),
    (Outcome.REFUND.value, "Refund: the buyer gets the whole total back"),
    (Outcome.SPLIT.value, "Split: the buyer gets part back, the seller the rest"),
]


class NoteForm(PlainLabels, forms.Form):
    text = forms.CharField(
        label="Internal note",
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only support sees notes; the parties see that a note was added.",
    )

    def __init__(self, *args, **kwargs):
        # The dispute page holds the decision form too, whose ``text`` keeps the plain ids.
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


@dataclass(frozen=True)
class DecisionMoney:
    """What a decision moves: the refund it sets and the money that goes where.

    Before settlement the order's escrow is shared out; after it (a dispute opened after
    completion), the difference is taken back from the seller's pending funds and the fees.
    """

    refund: int  # the order's refund once decided
    moves: Shares
    after_settlement: bool
    closes_as: State


def decision_money(order: Order, outcome: str, refund: int | None) -> DecisionMoney:
    """What ``dispute_decide`` would do with the money; raises its InvalidInput for a refund
    it refuses. The same arithmetic as ``orders.services.decide_money``, without posting."""
    amount = decision_refund(order, Outcome(outcome), refund)
    if order.settled_at is None:
        moves = order_shares(order, amount)
    else:
        moves = shares_delta(order_shares(order, order.refunded), order_shares(order, amount))
    closes_as = State.CANCELLED if amount == order.total else State.COMPLETED
    return DecisionMoney(amount, moves, order.settled_at is not None, closes_as)


class DecisionForm(PlainLabels, forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=OUTCOME_CHOICES, widget=forms.RadioSelect)
    refund = forms.CharField(
        label="Refund to the buyer, for a split", max_length=32, required=False
    )
    text = forms.CharField(
        label="Rationale",
        max_length=MAX_RATIONALE,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Both parties are told why. Point at the evidence you relied on.",
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.money: DecisionMoney | None = None
        low = format_amount(order.refunded, order.currency)
        total = format_amount(order.total, order.currency)
        self.fields["refund"].help_text = (
            f"In {order.currency}: more than {low} and less than the total of {total}. "
            "The seller and the platform share the rest in proportion."
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        outcome = data.get("outcome")
        text = (data.get("refund") or "").strip()
        data["refund"] = None
        if outcome is None:
            return data
        if outcome != Outcome.SPLIT:
            if text:
                self.add_error("refund", "Only a split takes an amount: leave it empty.")
                return data
            return self._priced(data, outcome)
        if not text:
            self.add_error("refund", "A split needs the amount the buyer gets back.")
            return data
        try:
            data["refund"] = amount_parse(text, self.order.currency)
        except ValueError as error:
            self.add_error("refund", str(error))
            return data
        return self._priced(data, outcome)

    def _priced(self, data: dict[str, Any], outcome: str) -> dict[str, Any]:
        try:
            self.money = decision_money(self.order, outcome, data["refund"])
        except InvalidInput as error:
            self.add_error("refund", error.detail)
        return data

    def confirmed_fields(self) -> dict[str, str]:
        """The decision again, as the confirmation page sends it back."""
        data = self.cleaned_data
        refund = data["refund"]
        return {
            "outcome": data["outcome"],
            "refund": "" if refund is None else amount_text(refund, self.order.currency),
            "text": data["text"],
        }


class PayoutForm(PlainLabels, forms.Form):
    amount = forms.CharField(label="Amount", max_length=32)
    currency = forms.ChoiceField()

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [(c, c) for c in currencies if c in CURRENCIES]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "amount" in data and "currency" in data:
            try:
                data["amount"] = amount_parse(data["amount"], data["currency"])
            except ValueError as error:
                self.add_error("amount", str(error))
            else:
                if data["amount"] <= 0:
                    self.add_error("amount", "The amount must be more than zero.")
        return data
