from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from handover.ledger.rules import pricing
from handover.lib.errors import HandoverError, NotFound
from handover.offers.models import Offer
from handover.orders.services import order_place
from handover.web.forms import OrderForm
from handover.web.http import WebRequest

OFFERS_PER_PAGE = 20


def _offers():
    return Offer.objects.select_related("seller")


@require_GET
def offer_list(request: HttpRequest) -> HttpResponse:
    """Every offer open to orders, newest first (what GET /api/v1/offers lists)."""
    paginator = Paginator(_offers().filter(is_active=True), OFFERS_PER_PAGE)
    offers = paginator.get_page(request.GET.get("page"))
    return render(request, "web/offers/list.html", {"offers": offers})


@require_GET
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(_offers(), pk=offer_id)
    context = {"offer": offer, "terms": offer.current_terms}
    return render(request, "web/offers/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: WebRequest, offer_id: int) -> HttpResponse:
    """The order form: the offer's questions, and what the buyer will pay."""
    offer = get_object_or_404(_offers(), pk=offer_id, is_active=True)
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, questions=offer.requirements)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_place(buyer=request.user, offer_id=offer.pk, answers=form.answers())
        except NotFound:
            raise Http404("No such offer.") from None
        except HandoverError as error:
            form.add_error(None, error.detail)
        else:
            messages.success(request, "Your order is placed. Pay to start it.")
            return redirect("web:order", order.pk)
    # The amounts order_place will fix, from the same function and settings.
    amounts = pricing(
        price=offer.price,
        buyer_fee_percent=settings.HANDOVER_BUYER_FEE_PERCENT,
        seller_fee_percent=settings.HANDOVER_SELLER_FEE_PERCENT,
    )
    context = {
        "offer": offer,
        "terms": offer.current_terms,
        "form": form,
        "amounts": amounts,
        "buyer_fee_percent": settings.HANDOVER_BUYER_FEE_PERCENT,
    }
    status = 422 if form.errors else 200
    return render(request, "web/offers/order_form.html", context, status=status)
