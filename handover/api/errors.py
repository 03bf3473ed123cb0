"""Every refusal the API answers is ``{"error": code, "detail": sentence}``; this module says
so in the OpenAPI document, for each operation and each status it may answer.

An operation names the refusals only it can give in its route's ``response`` (``refusals(403)``);
the ones that follow from its shape are added to every operation that has it: 401 when it needs
a token, 404 when its path names something, 422 when it takes parameters or a body, and for a
body the refusals of its parsing (400, 413) and of ``Idempotency-Key`` (400, 409, 422)."""

from typing import Any

from ninja import Schema

# The codes each status may carry, across the API (a generated client can switch on them).
CODES: dict[int, tuple[str, ...]] = {
    400: (
        "bad_amount",
        "bad_checklist",
        "bad_events",
        "bad_file_name",
        "bad_idempotency_key",
        "bad_multipart",
        "bad_outcome",
        "bad_party",
        "bad_link",
        "bad_rating",
        "bad_request",
        "bad_signature",
        "bad_reason",
        "bad_refund",
        "bad_requirement",
        "bad_threshold",
        "bad_time_zone",
        "bad_url",
        "bidi_control",
        "email_unchanged",
        "empty_file",
        "files_field",
        "files_not_accepted",
        "http_error",
        "invalid",
        "link_expired",
        "no_files",
        "not_a_party",
        "own_offer",
        "rationale_required",
        "self_report",
        "too_deep",
        "too_long",
        "too_many_files",
        "too_many_webhooks",
    ),
    401: ("bad_credentials", "not_authenticated"),
    403: (
        "account_suspended",
        "attachments_buyer_only",
        "email_unverified",
        "forbidden",
        "originals_locked",
    ),
    404: ("no_preview", "no_tree_head", "not_found"),
    409: (
        "already_decided",
        "already_handled",
        "already_reviewed",
        "already_suspended",
        "conflict",
        "duplicate",
        "email_taken",
        "frozen",
        "idempotency_in_progress",
        "insufficient_funds",
        "ledger_refused",
        "no_payout_account",
        "not_reviewable",
        "not_suspended",
        "offer_unavailable",
        "payout_refused",
        "preview_failed",
        "preview_pending",
        "refund_not_failed",
        "too_many_reports",
        "transition_not_allowed",
        "username_taken",
    ),
    411: ("length_required",),
    413: ("delivery_too_large", "file_too_large", "too_large"),
    415: ("unsupported_type",),
    422: (
        "amount_step",
        "idempotency_key_reused",
        "username_mixed_scripts",
        "username_too_close",
        "validation_error",
    ),
    429: ("address_locked_out", "locked_out", "too_many_requests"),
    503: ("provider_unavailable",),
}

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    411: "Length required",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable",
    429: "Too many requests",
    503: "Service unavailable",
}


class ErrorOut(Schema):
    """A refusal: ``error`` is a code a client can switch on, ``detail`` says it in words."""

    error: str
    detail: str


def refusals(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The refusals a route names in its ``response``: ``{200: X, **refusals(403, 409)}``."""
    return dict.fromkeys(statuses, ErrorOut)


def errors_document(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each operation's refusals, each with its codes and the error schema."""
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            # ninja keys its own responses by number, openapi_extra's by text: one of each.
            responses = {str(k): v for k, v in operation["responses"].items() if isinstance(k, int)}
            responses |= {k: v for k, v in operation["responses"].items() if isinstance(k, str)}
            operation["responses"] = responses
            for status in sorted(_statuses(path, method, operation)):
                responses[str(status)] = {
                    "description": f"{TITLES[status]}: error is one of "
                    + ", ".join(f"`{code}`" for code in CODES[status])
                    + ".",
                    "content": {"application/json": {"schema": ref}},
                }
    return schema


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {int(s) for s in operation["responses"] if s.startswith(("4", "5"))}
    if operation.get("security"):
        statuses.add(401)
    if "{" in path:
        statuses.add(404)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}
    if method == "post":
        statuses |= {400, 409, 422}  # Idempotency-Key: malformed, still running, reused
    return statuses
