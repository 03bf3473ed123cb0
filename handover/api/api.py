import json

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from handover.api.auth import BearerAuth
from handover.api.errors import errors_document
from handover.lib.bounds import json_parse
from handover.lib.errors import HandoverError, TooManyRequests


class StrictJsonParser(Parser):
    """JSON bodies whose text can be stored: a lone surrogate such as "\\udfff" parses as
    JSON but cannot be encoded as UTF-8, so it is refused here (400) instead of in the
    database (500); and nothing nested deeper than ``MAX_JSON_DEPTH``."""

    def parse_body(self, request: HttpRequest):
        data = json_parse(request.body)
        json.dumps(data, ensure_ascii=False).encode()
        return data


class HandoverAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja's document, with every refusal each operation may answer (see api.errors)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return errors_document(schema)

    def get_openapi_operation_id(self, operation) -> str:
        # The view's own name ("pay", "create_order"): what a generated client calls it.
        return operation.view_func.__name__


api = HandoverAPI(
    parser=StrictJsonParser(),
    title="Handover API",
    version="1",
    description="Orders, escrow and protected delivery for freelance digital work.",
    auth=BearerAuth(),
    urls_namespace="api-v1",
)


def _error(request: HttpRequest, status: int, code: str, detail: str, **extra) -> HttpResponse:
    return api.create_response(request, {"error": code, "detail": detail, **extra}, status=status)


@api.exception_handler(HandoverError)
def _domain_error(request, exc: HandoverError):
    response = _error(request, exc.status, exc.code, exc.detail)
    if isinstance(exc, TooManyRequests):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in exc.errors):
        # A path whose id no key can hold (0, 2**64) names nothing, whatever the body says:
        # as with a page's URL.
        return _error(request, 404, "not_found", "Not found.")
    parts = []
    for error in exc.errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "payload"))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors]
    return _error(
        request, 422, "validation_error", "; ".join(parts) or "Invalid input.", errors=errors
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(request, 401, "not_authenticated", "Send a valid token: Authorization: Bearer …")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, HandoverError):
        # ninja wraps whatever the body's parser raises as "Cannot parse request body";
        # our own refusal (JSON too deep) says more.
        return _domain_error(request, exc.__cause__)
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return _error(request, 413, "too_large", "The request body is too large.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "Not found.")


@api.get("/health", auth=None, tags=["meta"])
def health(request):
    return {"status": "ok"}


def _mount() -> None:
    from handover.accounts.api import router as accounts
    from handover.billing.api import router as billing
    from handover.delivery.api import router as delivery
    from handover.disputes.api import router as disputes
    from handover.evidence.api import router as evidence
    from handover.ledger.api import router as ledger
    from handover.notifications.api import router as notifications
    from handover.offers.api import router as offers
    from handover.orders.api import router as orders
    from handover.trust.api import router as trust

    api.add_router("", accounts, tags=["accounts"])
    api.add_router("/offers", offers, tags=["offers"])
    api.add_router("/orders", orders, tags=["orders"])
    api.add_router("", delivery, tags=["delivery"])
    api.add_router("/disputes", disputes, tags=["disputes"])
    api.add_router("", ledger, tags=["ledger"])
    api.add_router("", evidence, tags=["evidence"])
    api.add_router("", trust, tags=["trust"])
    api.add_router("", notifications, tags=["notifications"])
    api.add_router("", billing, tags=["payments"])


_mount()
