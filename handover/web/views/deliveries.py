"""Delivering and the delivered files.

The delivery form's files arrive already in storage: ``api.uploads.UploadMiddleware``
streams this page's upload as it does the API's (after the CSRF check), and leaves any
refusal in ``request.upload_error``. The view then calls ``order_deliver``, as the API does.
Previews and originals are served by ``delivery.serving``, as the API serves them, under the
same access rule.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from handover.delivery.models import Delivery, DeliveryFile
from handover.delivery.services import order_deliver
from handover.delivery.serving import original_served, originals_zip_served, preview_served
from handover.delivery.uploads import UploadSession
from handover.lib.errors import (
    HandoverError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)
from handover.orders.models import Order
from handover.orders.rules import State
from handover.web.forms import DeliveryForm
from handover.web.http import WebRequest
from handover.web.views.base import back, order_actions, visible_order

# The delivery page's script sends this header, and is answered with where to go next
# (a redirect it followed would spend the message meant for the next page).
SCRIPT_HEADER = "X-Handover-Upload"


@login_required
@require_http_methods(["GET", "POST"])
def order_deliver_page(request: WebRequest, order_id: int) -> HttpResponse:
    order = visible_order(request, order_id)
    if "deliver" not in order_actions(request, order):
        messages.error(request, "You cannot deliver on this order now.")
        return _done(request, order)
    if request.method != "POST":
        return _form_page(request, order, DeliveryForm(requirements=order.requirements))
    form = DeliveryForm(request.POST, request.FILES, requirements=order.requirements)
    refused: HandoverError | None = getattr(request, "upload_error", None)
    if refused is not None:
        form.is_valid()
        name = getattr(request, "upload_error_file", "")
        form.add_error("files", f"{name}: {refused.detail}" if name else refused.detail)
        return _form_page(request, order, form, status=refused.status)
    if not form.is_valid():
        return _form_page(request, order, form, status=422)
    try:
        delivery = order_deliver(
            order_id=order.pk,
            user=request.user,
            text=form.cleaned_data["text"],
            files=form.cleaned_data["files"],
            checklist=form.ticks(),
        )
    except InvalidInput as error:
        form.add_error("files" if error.code == "no_files" else None, error.detail)
        return _form_page(request, order, form, status=422)
    except HandoverError as error:
        messages.error(request, error.detail)
        return _done(request, order)
    session: UploadSession | None = getattr(request, "upload_session", None)
    if session is not None:
        session.claimed.update(f.storage_key for f in delivery.files.all())
    count = delivery.files.count()
    files = f"{count} file{'s' if count != 1 else ''}"
    if order.state == State.DELIVERED:  # as it was before: a forgotten file
        done = f"Added {files} to the order. The buyer is told; auto-complete starts again."
    else:
        done = f"Delivered {files}. The buyer sees the previews."
    messages.success(request, done)
    return _done(request, order)


def _form_page(
    request: WebRequest, order: Order, form: DeliveryForm, status: int = 200
) -> HttpResponse:
    return render(request, "web/orders/deliver.html", {"order": order, "form": form}, status=status)


def _done(request: WebRequest, order: Order) -> HttpResponse:
    if request.headers.get(SCRIPT_HEADER):
        return JsonResponse({"location": reverse("web:order", args=[order.pk])})
    return back(order)


def _part(request: WebRequest) -> int:
    value = request.GET.get("part", "0")
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise Http404("No such preview part.")
    return int(value)


@login_required
@require_http_methods(["GET", "HEAD"])
@xframe_options_sameorigin  # a text preview is shown in a frame of the order page
def file_preview(request: WebRequest, file_id: int) -> HttpResponseBase:
    part = _part(request)
    try:
        return preview_served(request, file_id=file_id, user=request.user, part=part)
    except NotFound:
        raise Http404("No such file.") from None
    except HandoverError as error:  # the preview is being made, or could not be
        return HttpResponse(
            error.detail, status=error.status, content_type="text/plain; charset=utf-8"
        )


@login_required
@require_GET
def file_original(request: WebRequest, file_id: int) -> HttpResponseBase:
    try:
        return original_served(request, file_id=file_id, user=request.user)
    except NotFound:
        raise Http404("No such file.") from None
    except (PermissionDenied, TooManyRequests) as error:
        # Not released to this buyer; original_access put the refusal on the order's record
        # (or, past the limit of refusals, says to wait).
        messages.error(request, error.detail)
        order_id = DeliveryFile.objects.values_list("delivery__order_id", flat=True).get(pk=file_id)
        return redirect("web:order", order_id)


@login_required
@require_GET
def delivery_originals_zip(request: WebRequest, delivery_id: int) -> HttpResponseBase:
    """ "Download all": the delivery's originals as one ZIP, under the single original's rule."""
    try:
        return originals_zip_served(request, delivery_id=delivery_id, user=request.user)
    except NotFound:
        raise Http404("No such delivery.") from None
    except (PermissionDenied, TooManyRequests) as error:
        messages.error(request, error.detail)  # the refusal is on the order's record
        order_id = Delivery.objects.values_list("order_id", flat=True).get(pk=delivery_id)
        return redirect("web:order", order_id)
