from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from handover.ledger.rules import pricing
from handover.lib.errors import HandoverError, NotFound
from handover.lib.money import amount_step
from handover.offers.models import Offer
from handover.offers.services import offer_create, offer_set_active, offer_update
from handover.orders.services import order_place
from handover.trust.selectors import (
    seller_reviews,
    suspended_user_ids,
    user_record,
    user_suspended,
)
from handover.web.amounts import amount_text
from handover.web.attachments import upload_claim, upload_refusal_show
from handover.web.forms import OfferForm, OrderForm
from handover.web.http import WebRequest
from handover.web.views.accounts import verified_required

OFFERS_PER_PAGE = 20
REVIEWS_SHOWN = 10  # the newest of a seller's reviews on an offer's page


def _offers():
    return Offer.objects.select_related("seller")


@require_GET
def offer_list(request: HttpRequest) -> HttpResponse:
    """Every offer open to orders, newest first (what GET /api/v1/offers lists)."""
    # A suspended seller's offers take no orders: they leave the list until reinstated.
    listed = _offers().filter(is_active=True).exclude(seller_id__in=suspended_user_ids())
    paginator = Paginator(listed, OFFERS_PER_PAGE)
    offers = paginator.get_page(request.GET.get("page"))
    return render(request, "web/offers/list.html", {"offers": offers})


@require_GET
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(_offers(), pk=offer_id)
    context = {
        "offer": offer,
        "terms": offer.current_terms,
        "seller_suspended": user_suspended(offer.seller_id),
        # The seller's record as a seller, and what their buyers wrote (as GET /users/{id}/...).
        "seller_record": user_record(offer.seller).as_seller,
        "reviews": seller_reviews(offer.seller, limit=REVIEWS_SHOWN),
    }
    return render(request, "web/offers/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@verified_required
def order_new(request: WebRequest, offer_id: int) -> HttpResponse:
    """The order form: the offer's questions, reference files for each, and what the buyer
    will pay. The files arrive already in storage (``api.uploads.UploadMiddleware``)."""
    offer = get_object_or_404(_offers(), pk=offer_id, is_active=True)
    posted = request.method == "POST"
    form = OrderForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        questions=offer.requirements,
    )
    refused = upload_refusal_show(request, form) if posted else None
    if posted and refused is None and form.is_valid():
        try:
            order = order_place(
                buyer=request.user,
                offer_id=offer.pk,
                answers=form.answers(),
                files=form.files_by_answer(),
            )
        except NotFound:
            raise Http404("No such offer.") from None
        except HandoverError as error:
            form.add_error(None, error.detail)
        else:
            upload_claim(request, order.attachments.all())
            messages.success(request, "Your order is placed. Pay to start it.")
            return redirect("web:order", order.pk)
    # The amounts order_place will fix, from the same function and settings.
    amounts = pricing(
        price=offer.price,
        buyer_fee_percent=settings.HANDOVER_BUYER_FEE_PERCENT,
        seller_fee_percent=settings.HANDOVER_SELLER_FEE_PERCENT,
        step=amount_step(offer.currency),
    )
    context = {
        "offer": offer,
        "terms": offer.current_terms,
        "form": form,
        "amounts": amounts,
        "buyer_fee_percent": settings.HANDOVER_BUYER_FEE_PERCENT,
    }
    status = refused.status if refused else 422 if form.errors else 200
    return render(request, "web/offers/order_form.html", context, status=status)


@login_required
@require_GET
def my_offer_list(request: WebRequest) -> HttpResponse:
    """The viewer's offers, open and closed."""
    offers = Paginator(_offers().filter(seller=request.user), OFFERS_PER_PAGE)
    page = offers.get_page(request.GET.get("page"))
    return render(request, "web/offers/mine.html", {"offers": page})


def _offer_form_page(
    request: WebRequest, form: OfferForm, offer: Offer | None = None
) -> HttpResponse:
    context = {"form": form, "offer": offer, "terms": offer.current_terms if offer else None}
    status = 422 if form.errors else 200
    return render(request, "web/offers/edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@verified_required
def offer_new(request: WebRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = OfferForm(data, initial={"currency": settings.HANDOVER_CURRENCY, "revisions": 1})
    if request.method == "POST" and form.is_valid():
        try:
            offer = offer_create(seller=request.user, fields=form.offer_fields())
        except HandoverError as error:
            form.add_error(None, error.detail)
        else:
            messages.success(request, "Your offer is published.")
            return redirect("web:offer", offer.pk)
    return _offer_form_page(request, form)


def _own_offer(request: WebRequest, offer_id: int) -> Offer:
    return get_object_or_404(_offers(), pk=offer_id, seller=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def offer_edit(request: WebRequest, offer_id: int) -> HttpResponse:
    """Change an offer; changed terms become a new version (``offer_update``)."""
    offer = _own_offer(request, offer_id)
    terms = offer.current_terms
    initial = {
        "title": offer.title,
        "description": offer.description,
        "price": amount_text(offer.price, offer.currency),
        "currency": offer.currency,
        "delivery_days": offer.delivery_days,
        "revisions": offer.revisions,
        "terms": terms.text,
        "requirements": "\n".join(offer.requirements),
        "requires_acceptance": offer.requires_acceptance,
    }
    form = OfferForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        # The risk threshold is set through the API; the page keeps it as it is.
        fields = form.offer_fields(risk_threshold=offer.risk_threshold)
        try:
            offer_update(offer_id=offer.pk, seller=request.user, fields=fields)
        except NotFound:
            raise Http404("No such offer.") from None
        except HandoverError as error:
            form.add_error(None, error.detail)
        else:
            version = offer.current_terms.version
            if version != terms.version:
                messages.success(
                    request,
                    f"Saved. The terms are now version {version}; "
                    f"orders placed before keep version {terms.version}.",
                )
            else:
                messages.success(request, "Saved.")
            return redirect("web:offer", offer.pk)
    return _offer_form_page(request, form, offer)


@login_required
@require_POST
def offer_active(request: WebRequest, offer_id: int) -> HttpResponse:
    """Close an offer to new orders, or open it again; placed orders go on."""
    offer = _own_offer(request, offer_id)
    active = request.POST.get("active") == "on"
    offer_set_active(offer_id=offer.pk, seller=request.user, active=active)
    if active:
        messages.success(request, "The offer is open to new orders.")
    else:
        messages.success(request, "The offer is closed to new orders; placed orders go on.")
    return redirect("web:offer", offer.pk)
