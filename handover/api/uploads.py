"""Delivery uploads on their way in: before anything else reads a multipart body, this
middleware authorises the request and sets the upload handlers of ``delivery.uploads`` on it,
which stream each file to storage as it arrives. Every refusal (too large, refused kind, bad
name) becomes a clear JSON error, and every object an unfinished or refused request wrote is
deleted when the request ends. The buyer's reference files (a chat message's, the
requirement answers') take the same way, on their routes of the API and the pages. Any other
multipart API request is parsed here too, so that a refusal is answered as JSON. It needs the
API's auth and idempotency, so it lives here."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse

from handover.api.auth import api_user_admit, request_api_user
from handover.api.middleware import idempotency_key_taken, idempotency_scope
from handover.delivery.uploads import (
    FORM_REFUSALS,
    REFERENCE_FILES,
    CsrfRefused,
    DeliveryUploadHandler,
    LengthRequired,
    RetryUploadHandler,
    UploadSession,
    WebDeliveryUploadHandler,
    upload_handlers_set,
    upload_refusal,
)
from handover.lib.bounds import id_in_range
from handover.lib.errors import HandoverError, NotAuthenticated, NotFound
from handover.orders.selectors import message_precheck, order_answers_precheck, order_place_precheck

# Any number of digits: one no id can be is a 404 here, before the body is read.
DELIVERY_PATH = re.compile(r"^/api/v1/orders/(?P<order_id>[0-9]+)/deliveries/?$")
# The page's URL takes ids only (``<id:...>``): any other number is a 404 there.
WEB_DELIVERY_PATH = re.compile(r"^/orders/(?P<order_id>[0-9]{1,19})/deliver/$")


@dataclass(frozen=True)
class ReferenceRoute:
    """A route that takes the buyer's reference files, and the check its service makes of
    who may send them there (run when the first file begins)."""

    path: re.Pattern[str]
    precheck: Callable[..., None]
    noun: str
    web: bool = False


REFERENCE_ROUTES = (
    ReferenceRoute(
        re.compile(r"^/api/v1/orders/(?P<order_id>[0-9]+)/messages/?$"), message_precheck, "message"
    ),
    ReferenceRoute(
        re.compile(r"^/api/v1/orders/(?P<order_id>[0-9]+)/answers/?$"),
        order_answers_precheck,
        "request",
    ),
    ReferenceRoute(
        re.compile(r"^/orders/(?P<order_id>[0-9]{1,19})/messages/$"),
        message_precheck,
        "message",
        web=True,
    ),
    ReferenceRoute(
        re.compile(r"^/orders/(?P<order_id>[0-9]{1,19})/answers/$"),
        order_answers_precheck,
        "request",
        web=True,
    ),
    ReferenceRoute(
        re.compile(r"^/offers/(?P<offer_id>[0-9]{1,19})/order/$"),
        order_place_precheck,
        "request",
        web=True,
    ),
)


def _error(error: HandoverError) -> JsonResponse:
    return JsonResponse({"error": error.code, "detail": error.detail}, status=error.status)


def _is_retry(request: HttpRequest, user) -> bool:
    key = request.headers.get("Idempotency-Key")
    return key is not None and idempotency_key_taken(idempotency_scope(user, request), key)


class UploadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.content_type != "multipart/form-data":
            return self.get_response(request)
        if not _length_given(request):
            return _length_required(request)
        for route in REFERENCE_ROUTES:
            if found := route.path.match(request.path):
                return self._references(request, route, found)
        match = DELIVERY_PATH.match(request.path)
        if match is None:
            web = WEB_DELIVERY_PATH.match(request.path)
            if web is not None and id_in_range(int(web["order_id"])):
                return self._web_delivery(request, int(web["order_id"]))
            if request.path.startswith("/api/"):
                try:
                    request.POST  # noqa: B018 - parse now, so a refusal is answered here
                except FORM_REFUSALS as error:
                    return _parse_error(error)
            return self.get_response(request)
        order_id = int(match["order_id"])
        if not id_in_range(order_id):
            return _error(NotFound("No such order."))  # as the API answers any other path
        return self._delivery(request, order_id)

    def _delivery(self, request: HttpRequest, order_id: int) -> HttpResponse:
        from handover.delivery.selectors import delivery_precheck

        session = UploadSession(order_id=order_id)
        try:
            user = request_api_user(request)
            if user is None:
                raise NotAuthenticated("Send a valid API token.")
            api_user_admit(user)  # before a byte of the body is read
            if _is_retry(request, user):
                # The stored answer is replayed; the body is read only for its fingerprint.
                handler: DeliveryUploadHandler = RetryUploadHandler(request, session)
            else:
                # Refuse before reading a byte of the body when the caller may not deliver.
                delivery_precheck(order_id=order_id, user=user)
                handler = DeliveryUploadHandler(request, session)
        except HandoverError as error:
            return _error(error)
        return self._api_upload(request, handler)

    def _references(
        self, request: HttpRequest, route: ReferenceRoute, found: re.Match[str]
    ) -> HttpResponse:
        """The buyer's reference files, into ``references/<order>`` (``references/new``
        while the order is being placed). The route's precheck runs at the first file."""
        ids = {name: int(value) for name, value in found.groupdict().items()}
        if not all(id_in_range(value) for value in ids.values()):
            return (
                _error(NotFound("No such order.")) if not route.web else self.get_response(request)
            )
        order_id = ids.get("order_id")
        folder = f"references/{order_id}" if order_id is not None else "references/new"
        session = UploadSession(order_id=order_id or 0, folder=folder, noun=route.noun)
        if route.web:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return redirect_to_login(request.get_full_path())  # not a byte read
            web = WebDeliveryUploadHandler(
                request,
                session,
                user=user,
                file_fields=REFERENCE_FILES,
                precheck=_precheck(route, ids, user),
            )
            return self._web_upload(request, web)
        try:
            user = request_api_user(request)
            if user is None:
                raise NotAuthenticated("Send a valid API token.")
        except HandoverError as error:
            return _error(error)
        if _is_retry(request, user):
            handler: DeliveryUploadHandler = RetryUploadHandler(request, session)
        else:
            handler = DeliveryUploadHandler(
                request, session, file_fields=REFERENCE_FILES, precheck=_precheck(route, ids, user)
            )
        return self._api_upload(request, handler)

    def _api_upload(self, request: HttpRequest, handler: DeliveryUploadHandler) -> HttpResponse:
        upload_handlers_set(request, handler)
        try:
            try:
                request.FILES  # noqa: B018
            except FORM_REFUSALS as error:
                handler.abort()
                return _parse_error(error)
            except BaseException:
                handler.abort()
                raise
            return self.get_response(request)
        finally:
            handler.session.discard_unclaimed(default_storage.delete)

    def _web_delivery(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """The delivery page's upload. A refusal while streaming is left for the view to show
        beside the form (``request.upload_error``), with the fields sent before the files."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return redirect_to_login(request.get_full_path())  # not a byte read
        session = UploadSession(order_id=order_id)
        return self._web_upload(request, WebDeliveryUploadHandler(request, session, user=user))

    def _web_upload(self, request: HttpRequest, handler: WebDeliveryUploadHandler) -> HttpResponse:
        session = handler.session
        upload_handlers_set(request, handler)
        try:
            try:
                request.FILES  # noqa: B018
            except CsrfRefused as refused:
                handler.abort()
                return refused.response
            except FORM_REFUSALS as error:
                handler.abort()
                request.upload_error = upload_refusal(error)  # type: ignore[attr-defined]
                # The file being read when it was refused, to name it beside the error.
                request.upload_error_file = handler.file_name or ""  # type: ignore[attr-defined]
                # And its field, for a form with several (each requirement answer's files).
                request.upload_error_field = getattr(handler, "field_name", "")  # type: ignore[attr-defined]
                # The body is read: asked now, Django gives the request no files and an
                # empty POST, which the fields sent before the files then replace.
                request.FILES  # noqa: B018
                request.POST = handler.fields_read()  # type: ignore[assignment]
            except BaseException:
                handler.abort()
                raise
            return self.get_response(request)
        finally:
            session.discard_unclaimed(default_storage.delete)


def _precheck(route: ReferenceRoute, ids: dict[str, int], user) -> Callable[[], None]:
    """The route's service check for this caller, as the upload handler runs it."""
    if "offer_id" in ids:  # placing an order: there is no order yet
        return partial(route.precheck, buyer=user, offer_id=ids["offer_id"])
    return partial(route.precheck, order_id=ids["order_id"], user=user)


def _length_given(request: HttpRequest) -> bool:
    """Whether the body's length is known before it is read. Django reads a body without
    one (``Transfer-Encoding: chunked``) as empty, so an upload would arrive without its
    files, and its size could not be refused before the first byte."""
    return request.META.get("CONTENT_LENGTH", "").strip().isdigit()


def _length_required(request: HttpRequest) -> HttpResponse:
    refusal = LengthRequired(
        "Send the upload with a Content-Length header; a chunked body cannot be taken."
    )
    if request.path.startswith("/api/"):
        return _error(refusal)
    return HttpResponse(refusal.detail, status=411, content_type="text/plain; charset=utf-8")


def _parse_error(error: Exception) -> JsonResponse:
    return _error(upload_refusal(error))
