"""The seller's side of a chargeback: while the buyer's bank decides, the seller adds a note
that Handover sends the bank with the order's record (``billing.chargebacks``)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from handover.billing.chargebacks import (
    MAX_NOTE_LENGTH,
    chargeback_note_set,
    note_refusal,
    open_dispute_of,
    seller_note_of,
    submit_at,
)
from handover.lib.errors import HandoverError, InvalidInput
from handover.orders.rules import Actor
from handover.orders.selectors import viewer_role
from handover.web.http import WebRequest
from handover.web.views.base import back, visible_order


class ChargebackNoteForm(forms.Form):
    text = forms.CharField(
        label="Your note for the bank",
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the record alone may not show: how the buyer used the work, what was "
        "agreed outside the order. It replaces an earlier note.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def chargeback_note(request: WebRequest, order_id: int) -> HttpResponse:
    """The note form, while the order is on hold and until the answer's cut-off."""
    order = visible_order(request, order_id)
    row = open_dispute_of(order)
    refusal = note_refusal(row, timezone.now())
    if viewer_role(order, request.user) != Actor.SELLER or refusal:
        messages.error(request, refusal or "Only the seller adds a note for the bank.")
        return back(order)
    assert row is not None
    note = seller_note_of(row)
    initial = {"text": note} if note else None
    form = ChargebackNoteForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            chargeback_note_set(
                order_id=order.pk, user=request.user, text=form.cleaned_data["text"]
            )
        except InvalidInput as error:
            form.add_error("text", error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return back(order)
        else:
            messages.success(request, "Your note goes to the bank with the order's record.")
            return back(order)
    context = {"order": order, "form": form, "row": row, "submit_at": submit_at(row)}
    return render(
        request, "web/orders/chargeback_note.html", context, status=422 if form.errors else 200
    )
