"""The forms of the support desk and of the balance page. Amounts are typed in major units
and kept exact (``amounts.amount_parse``); whether an amount is allowed is the services'
call, and their words show beside the field."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms

from handover.accounts.models import User
from handover.disputes.models import Outcome
from handover.disputes.services import MAX_NOTE, MAX_RATIONALE, decision_refund
from handover.ledger.rules import Shares, shares_delta
from handover.ledger.services import order_shares
from handover.lib.errors import InvalidInput
from handover.lib.money import CURRENCIES, format_amount
from handover.lib.text import text_check
from handover.orders.models import Order
from handover.orders.rules import State
from handover.orders.services import MAX_TEXT_LENGTH
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


# --- the support desk's orders ---------------------------------------------------------------

MAX_SEARCH = 100
STATE_CHOICES = [("", "Any state"), *State.choices]


class Waiting:
    """What an order may be waiting for support to do (the home's counts link to these)."""

    PAYMENT = "payment"  # a manual transfer to confirm
    CANCELLATION = "cancellation"  # a cancellation request past its response window


WAITING_CHOICES = [
    ("", "Anything"),
    (Waiting.PAYMENT, "A transfer to confirm"),
    (Waiting.CANCELLATION, "A cancellation request past its window"),
]


class OrderSearchForm(PlainLabels, forms.Form):
    """The order search: every field optional, each checked before it reaches a query."""

    q = forms.CharField(
        label="Order number, username, e-mail or transfer reference",
        max_length=MAX_SEARCH,
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    state = forms.ChoiceField(label="State", choices=STATE_CHOICES, required=False)
    waiting = forms.ChoiceField(label="Waiting for", choices=WAITING_CHOICES, required=False)
    placed_from = forms.DateField(
        label="Placed from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        label="Placed until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", "The end date comes before the start date.")
        return data


def _checked(text: str, field: str) -> str:
    """The services' own check of a text (``lib.text.text_check``), so that the form says
    before the confirmation page what the service would refuse after it."""
    try:
        return text_check(text, field=field, limit=MAX_TEXT_LENGTH)
    except InvalidInput as error:
        raise forms.ValidationError(error.detail) from None


class RationaleForm(PlainLabels, forms.Form):
    """What every support action asks for: why, in words both parties may read."""

    text = forms.CharField(
        label="Rationale",
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Goes on the order's record, which both parties read. Say what you relied on.",
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order

    def clean_text(self) -> str:
        return _checked(self.cleaned_data["text"], "rationale")

    def confirmed_fields(self) -> dict[str, str]:
        """The form again, as the confirmation page sends it back."""
        return {name: str(self.cleaned_data.get(name) or "") for name in self.fields}


class ConfirmPaymentForm(RationaleForm):
    reference = forms.CharField(
        label="Transfer reference, if the bank shows another",
        max_length=64,
        required=False,
    )

    field_order = ["reference", "text"]

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        self.fields["reference"].help_text = (
            f"The buyer was given {order.payment_reference}; leave empty if that is the one."
            if order.payment_reference
            else "The buyer has not asked for transfer details yet."
        )


class ChargebackForm(RationaleForm):
    reference = forms.CharField(
        label="The bank's or provider's reference for the chargeback",
        max_length=255,
        required=False,
    )

    field_order = ["reference", "text"]


SETTLE_CHOICES = [
    ("accept", "Accept: cancel the order at the refund asked"),
    ("decline", "Decline: the order goes on where it was"),
]


class SettleCancellationForm(RationaleForm):
    outcome = forms.ChoiceField(label="Settle it", choices=SETTLE_CHOICES, widget=forms.RadioSelect)

    field_order = ["outcome", "text"]


class OpenDisputeForm(RationaleForm):
    party = forms.ChoiceField(label="Open it for", widget=forms.RadioSelect)
    reason = forms.CharField(
        label="The party's reason",
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="As the party told support; it is the dispute's reason both parties read.",
    )

    field_order = ["party", "reason", "text"]

    def clean_reason(self) -> str:
        return _checked(self.cleaned_data["reason"], "reason")

    def __init__(self, *args, order: Order, parties: Sequence[str], **kwargs):
        super().__init__(*args, order=order, **kwargs)
        names = {"buyer": order.buyer.username, "seller": order.seller.username}
        party = self.fields["party"]
        assert isinstance(party, forms.ChoiceField)
        party.choices = [(p, f"The {p}, {names[p]}") for p in parties]
        self.fields[
            "text"
        ].help_text = (
            "Why support opens it for them (how they asked). On the record, for both parties."
        )


# --- the dispute queue's filters -------------------------------------------------------------


class QueueState:
    OPEN = "open"
    OVERDUE = "overdue"
    DECIDED = "decided"


QUEUE_STATES = [
    (QueueState.OPEN, "Open"),
    (QueueState.OVERDUE, "Overdue"),
    (QueueState.DECIDED, "Decided"),
]
MINE, UNASSIGNED = "me", "none"


class QueueFilterForm(PlainLabels, forms.Form):
    state = forms.ChoiceField(label="State", choices=QUEUE_STATES, required=False)
    flag = forms.ChoiceField(label="Flag", required=False)
    agent = forms.ChoiceField(label="Agent", required=False)

    def __init__(self, *args, flags: list[tuple[str, str]], agents: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        flag = self.fields["flag"]
        agent = self.fields["agent"]
        assert isinstance(flag, forms.ChoiceField) and isinstance(agent, forms.ChoiceField)
        flag.choices = [("", "Any flag"), *flags]
        agent.choices = [
            ("", "Anyone"),
            (MINE, "Assigned to me"),
            (UNASSIGNED, "Nobody yet"),
            *[(str(a.pk), a.username) for a in agents],
        ]
