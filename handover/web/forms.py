from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm

from handover.accounts.forms import UsernameRules
from handover.accounts.models import User
from handover.delivery.services import Tick
from handover.lib.money import CURRENCIES, format_amount
from handover.offers.services import (
    MAX_DESCRIPTION_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_QUESTIONS,
    MAX_TERMS_LENGTH,
    OfferFields,
)
from handover.orders.models import Order
from handover.orders.services import MAX_ANSWER_LENGTH, MAX_TEXT_LENGTH
from handover.trust.models import ReportReason
from handover.trust.rules import MAX_RATING, MAX_REVIEW_TEXT, MIN_RATING, AccountSuspended
from handover.trust.services import MAX_REPORT_TEXT
from handover.web.amounts import amount_parse


class PlainLabels:
    """Labels without Django's trailing colon: several of ours are questions."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SuspensionSaid:
    """For Django's log-in forms: the right password of a suspended account is refused with
    the reason (``web.auth.SuspensionCheckBackend``), above the form."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except AccountSuspended as refusal:
            raise forms.ValidationError(refusal.detail, code="account_suspended") from None


class LoginForm(PlainLabels, SuspensionSaid, AuthenticationForm):
    pass


class AdminLoginForm(SuspensionSaid, AdminAuthenticationForm):
    pass


class PasswordForm(PlainLabels, PasswordChangeForm):
    pass


class SignupForm(PlainLabels, UsernameRules, UserCreationForm):
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


def _reference_files(label: str, about: str = "") -> forms.Field:
    return MultipleFileField(
        label=label,
        required=False,
        help_text=f"{about}Optional: photos, footage, brand files. The seller opens them at once.",
    )


class OrderForm(PlainLabels, forms.Form):
    """One answer per requirement question of the offer, and reference files for each."""

    def __init__(self, *args, questions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for index, question in enumerate(questions):
            self.fields[f"answer_{index}"] = _text(question, limit=MAX_ANSWER_LENGTH, rows=3)
        # After every answer: the browser sends them (and the CSRF token) before the files, so
        # a refused file leaves the answers typed.
        for index, question in enumerate(questions):
            # Numbered, not named by the question: its label stays the answer's alone.
            label = f"Files for question {index + 1}"
            self.fields[f"files_{index}"] = _reference_files(label, f"For “{question}”. ")

    def answers(self) -> list[str]:
        return [self.cleaned_data[f"answer_{i}"] for i in range(len(self.questions))]

    def files_by_answer(self) -> dict[int, list]:
        """The reference files by the question they answer (already in storage)."""
        return {i: self.cleaned_data[f"files_{i}"] for i in range(len(self.questions))}

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[f"answer_{i}"] for i in range(len(self.questions))]

    def file_fields(self) -> list[forms.BoundField]:
        return [self[f"files_{i}"] for i in range(len(self.questions))]


class MessageForm(PlainLabels, forms.Form):
    """A chat message; the buyer's may carry reference files (``attach``), and then needs no
    text. A seller's never does: work goes to the buyer as a delivery, behind previews."""

    text = _text("Message", limit=MAX_TEXT_LENGTH, rows=3)

    def __init__(self, *args, attach: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if attach:
            self.fields["text"].required = False
            self.fields["files"] = _reference_files("Attach files")

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        empty = not cleaned.get("text") and not cleaned.get("files") and "text" not in self.errors
        if "files" in self.fields and empty:
            self.add_error("text", "Write a message or attach files.")
        return cleaned


class RevisionForm(PlainLabels, forms.Form):
    text = _text("What should change?", limit=MAX_TEXT_LENGTH, rows=5)


class AutoCompleteForm(PlainLabels, forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "on"), ("off", "off")], coerce=lambda value: value == "on"
    )


class OfferForm(PlainLabels, forms.Form):
    """An offer as its seller writes it; the price in major units, kept exact."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(
        max_length=MAX_DESCRIPTION_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the buyer gets, and how you work.",
    )
    price = forms.CharField(max_length=32, help_text="For example 120 or 120.50.")
    currency = forms.ChoiceField(choices=[(code, code) for code in sorted(CURRENCIES)])
    delivery_days = forms.IntegerField(label="Delivery time in days", min_value=1, max_value=365)
    revisions = forms.IntegerField(label="Revisions included", min_value=0, max_value=100)
    terms = forms.CharField(
        label="Terms of service",
        max_length=MAX_TERMS_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Each order keeps the version it was placed under; a change makes a new one.",
    )
    requirements = forms.CharField(
        label="Requirement questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One question a line; the buyer answers each when ordering.",
    )
    requires_acceptance = forms.BooleanField(
        label="I accept each order before it starts",
        required=False,
        help_text="Paid orders wait for you to accept or decline them (declining refunds all).",
    )

    def clean_requirements(self) -> list[str]:
        questions = [line.strip() for line in self.cleaned_data["requirements"].splitlines()]
        questions = [question for question in questions if question]
        if len(questions) > MAX_QUESTIONS:
            raise forms.ValidationError(f"At most {MAX_QUESTIONS} questions.")
        if any(len(question) > MAX_QUESTION_LENGTH for question in questions):
            raise forms.ValidationError(
                f"A question may have at most {MAX_QUESTION_LENGTH} characters."
            )
        return questions

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "price" in data and "currency" in data:
            try:
                data["price"] = amount_parse(data["price"], data["currency"])
            except ValueError as error:
                self.add_error("price", str(error))
            else:
                if data["price"] <= 0:
                    self.add_error("price", "The price must be more than zero.")
        return data

    def offer_fields(self, *, risk_threshold: dict[str, int] | None = None) -> OfferFields:
        data = self.cleaned_data
        return OfferFields(
            title=data["title"],
            description=data["description"],
            price=data["price"],
            currency=data["currency"],
            delivery_days=data["delivery_days"],
            revisions=data["revisions"],
            terms=data["terms"],
            requirements=data["requirements"],
            requires_acceptance=data["requires_acceptance"],
            risk_threshold=risk_threshold,
        )


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each is already in storage (the upload streamed it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class DeliveryForm(PlainLabels, forms.Form):
    """A delivery: a message, the requirement items it answers (each with a note), files."""

    text = forms.CharField(
        label="Message to the buyer",
        max_length=MAX_TEXT_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, requirements: list[dict[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.requirements = requirements
        for index, item in enumerate(requirements):
            self.fields[f"tick_{index}"] = forms.BooleanField(
                label=item.get("question", ""), required=False
            )
            self.fields[f"note_{index}"] = forms.CharField(
                label="Note", max_length=2000, required=False
            )
            self.fields[f"files_{index}"] = forms.CharField(
                label="Answered in",
                max_length=4000,
                required=False,
                help_text="The names of the files that answer it, separated by commas; "
                "leave it empty if the whole delivery does.",
            )
        # Last, so that the browser sends every other field (the CSRF token first) before
        # the files: the upload is checked against them before a byte is stored.
        self.fields["files"] = MultipleFileField(
            label="Files", required=False, help_text="Choose or drop one or more files."
        )

    def checklist_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "question": item.get("question", ""),
                "answer": item.get("answer", ""),
                "tick": self[f"tick_{index}"],
                "note": self[f"note_{index}"],
                "files": self[f"files_{index}"],
            }
            for index, item in enumerate(self.requirements)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        names = [getattr(f, "name", "") for f in data.get("files") or []]
        for index in range(len(self.requirements)):
            field = f"files_{index}"
            wanted = [n.strip() for n in data.get(field, "").split(",") if n.strip()]
            unknown = [n for n in wanted if n not in names]
            if unknown:
                self.add_error(field, f"No file named “{unknown[0]}” in this delivery.")
                continue
            # The places of the named files (every file of that name); naming is ticking.
            data[field] = tuple(i for i, n in enumerate(names) if n in wanted)
            if wanted:
                data[f"tick_{index}"] = True
        return data

    def ticks(self) -> list[Tick]:
        data = self.cleaned_data
        return [
            Tick(requirement=index, note=data[f"note_{index}"], files=data[f"files_{index}"])
            for index in range(len(self.requirements))
            if data[f"tick_{index}"]
        ]


class CancellationForm(PlainLabels, forms.Form):
    """Ask to cancel: why, and what the buyer gets back (major units, kept exact)."""

    text = _text("Why cancel?", limit=MAX_TEXT_LENGTH, rows=4)
    refund = forms.CharField(label="Refund to the buyer", max_length=32)

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        total = format_amount(order.total, order.currency)
        self.fields["refund"].help_text = (
            f"From 0 to the order's total of {total}. The buyer gets this back; the seller "
            "is paid the rest, less fees in proportion."
        )

    def clean_refund(self) -> int:
        try:
            refund = amount_parse(self.cleaned_data["refund"], self.order.currency)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if refund > self.order.total:
            total = format_amount(self.order.total, self.order.currency)
            raise forms.ValidationError(f"The refund can be at most the total of {total}.")
        return refund


class AnswerForm(PlainLabels, forms.Form):
    text = _text("Your answer", limit=MAX_TEXT_LENGTH, rows=4)


class DisputeForm(PlainLabels, forms.Form):
    text = _text("What went wrong?", limit=MAX_TEXT_LENGTH, rows=5)


class ReviewForm(PlainLabels, forms.Form):
    """A review of the other party: a rating from 1 to 5 and, if they like, a few words."""

    rating = forms.TypedChoiceField(
        label="Rating",
        choices=[(n, f"{n} of {MAX_RATING}") for n in range(MAX_RATING, MIN_RATING - 1, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label="Your review",
        max_length=MAX_REVIEW_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Optional. What was it like to work with them?",
    )


REPORT_REASONS = [
    (ReportReason.OFF_PLATFORM_PAYMENT, "Asked to pay or be paid outside Handover"),
    (ReportReason.ABUSIVE, "Abusive or threatening"),
    (ReportReason.FRAUD, "Fraud"),
    (ReportReason.SPAM, "Spam"),
    (ReportReason.OTHER, "Something else"),
]


class ReportForm(PlainLabels, forms.Form):
    reason = forms.ChoiceField(label="Why?", choices=REPORT_REASONS, widget=forms.RadioSelect)
    text = forms.CharField(
        label="What happened?",
        max_length=MAX_REPORT_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Required for “Something else”; support reads it with the record of the order.",
    )
