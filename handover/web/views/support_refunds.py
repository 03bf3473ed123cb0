"""The support desk's failed refunds: the refunds the payment provider refused or failed to
send, the longest waiting first, and a retry of one (with a rationale, confirmed first)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from handover.billing.refunds import refund_retry
from handover.lib.errors import HandoverError, InvalidInput
from handover.lib.money import format_amount
from handover.orders.models import Order
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.selectors import refunds_failed
from handover.web.http import WebRequest
from handover.web.support_forms import RationaleForm
from handover.web.views.support import support_only

REFUNDS_SHOWN = 200


@support_only
@require_GET
def refund_list(request: WebRequest) -> HttpResponse:
    """The failed refunds, each with its order, the provider's words and a retry."""
    refunds = list(refunds_failed().select_related("order__buyer")[:REFUNDS_SHOWN])
    return render(request, "web/support/refunds.html", {"refunds": refunds})


def _refund(refund_id: int) -> ProviderRefund:
    refund = ProviderRefund.objects.select_related("order__buyer", "order__offer").filter(
        pk=refund_id
    )
    found = refund.first()
    if found is None:
        raise Http404("No such refund.")
    return found


def _page(request, refund, form, *, confirming=False, status=200) -> HttpResponse:
    context = {
        "refund": refund,
        "order": refund.order,
        "form": form,
        "confirming": confirming,
        "post_url": reverse("web:refund_retry", args=[refund.pk]),
    }
    return render(request, "web/support/refund_retry.html", context, status=status)


@support_only
@require_http_methods(["GET", "POST"])
def refund_retry_page(request: WebRequest, refund_id: int) -> HttpResponse:
    """Ask the provider again for a failed refund: the rationale, then a confirmation."""
    refund = _refund(refund_id)
    order: Order = refund.order
    if request.method == "GET":
        if refund.state != RefundState.FAILED:
            messages.error(request, "That refund has not failed: there is nothing to retry.")
            return redirect("web:refunds_failed")
        return _page(request, refund, RationaleForm(order=order))
    form = RationaleForm(data=request.POST, order=order)
    if not form.is_valid():
        return _page(request, refund, form, status=422)
    if request.POST.get("confirm") != "yes":
        return _page(request, refund, form, confirming=True)
    try:
        refund = refund_retry(
            refund_id=refund.pk, user=request.user, text=form.cleaned_data["text"]
        )
    except InvalidInput as error:
        form.add_error("text", error.detail)
        return _page(request, refund, form, status=422)
    except HandoverError as error:
        form.add_error(None, error.detail)
        return _page(request, refund, form, status=409)
    amount = format_amount(refund.amount, refund.currency)
    if refund.state == RefundState.FAILED:
        messages.error(request, f"The refund of {amount} failed again: {refund.failure}")
    else:
        word = "sent" if refund.state == RefundState.SUCCEEDED else "asked for again"
        messages.success(request, f"The refund of {amount} on order #{order.pk} was {word}.")
    return redirect("web:refunds_failed")
