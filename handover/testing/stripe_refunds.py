"""Routes of the Stripe boundary server (see ``testing.stripe``) for refunds that do not
succeed at once. localstripe makes every Refund ``succeeded`` on the spot; Stripe's own refunds
may be ``pending`` (confirmed later by webhook), ``failed``, or refused with an error. Only the
refund tests use this: a test arms the next answers with ``refunds_answer``; any
``POST /v1/refunds`` with nothing armed goes on to localstripe unchanged. Shapes from Stripe's
API reference: https://docs.stripe.com/api/refunds/object and
https://docs.stripe.com/api/errors.

Stripe may also fail a refund after it succeeded (the buyer's card account was closed: the
money comes back to the platform's balance); localstripe cannot. ``refund_fails`` makes the
boundary hold such a refund as failed: ``GET /v1/refunds/{id}`` answers the refunds held here
(others go on to localstripe), and the lists of refunds show them (``testing.stripe_reconcile``).
"""

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

from handover.testing.stripe_boundary import Route, StripeBoundary

ARMED = "refunds:armed"  # boundary.objects key: {"answers": [...]} still to give
KEYS = "refunds:keys"  # boundary.objects key: {"keys": [...]} every refund's Idempotency-Key

PENDING, FAILED, REFUSED = "pending", "failed", "refused"


def refunds_answer(boundary: StripeBoundary, *answers: str) -> None:
    """Answer the next refunds created with these (``pending``, ``failed`` or ``refused``)."""
    with boundary.lock:
        boundary.objects.setdefault(ARMED, {"answers": []})["answers"].extend(answers)


def refund_keys(boundary: StripeBoundary) -> list[str]:
    """The Idempotency-Key of each refund the app asked for, in order."""
    return list(boundary.objects.get(KEYS, {}).get("keys", []))


def _first(form: dict[str, list[str]], key: str) -> str:
    return form.get(key, [""])[0]


def refund_object(form: dict[str, list[str]], status: str, refund_id: str) -> dict[str, Any]:
    """A Refund as Stripe returns it, for the amount and PaymentIntent asked."""
    metadata = {
        key[len("metadata[") : -1]: values[0]
        for key, values in form.items()
        if key.startswith("metadata[")
    }
    refund: dict[str, Any] = {
        "id": refund_id,
        "object": "refund",
        "amount": int(_first(form, "amount")),
        "balance_transaction": None,
        "charge": "ch_" + refund_id[3:],
        "created": int(time.time()),
        "currency": "eur",
        "destination_details": None,
        "metadata": metadata,
        "payment_intent": _first(form, "payment_intent"),
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
    if status == FAILED:
        refund["failure_reason"] = "expired_or_canceled_card"
        refund["failure_balance_transaction"] = "txn_" + refund_id[3:]
    return refund


def _refused(refund_id: str) -> tuple[int, dict[str, Any]]:
    return 400, {
        "error": {
            "type": "invalid_request_error",
            "code": "charge_disputed",
            "message": "This charge has been disputed and cannot be refunded.",
            "doc_url": "https://docs.stripe.com/error-codes/charge-disputed",
            "request_log_url": f"https://dashboard.stripe.com/test/logs/req_{refund_id[3:]}",
        }
    }


def _on_to_localstripe(boundary: StripeBoundary, body: bytes, headers) -> tuple[int, dict]:
    request = urllib.request.Request(
        boundary.localstripe_url + "/v1/refunds",
        data=body,
        method="POST",
        headers={
            k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type")
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _create(boundary: StripeBoundary, match, form, body: bytes, headers) -> tuple[int, dict]:
    boundary.objects.setdefault(KEYS, {"keys": []})["keys"].append(
        headers.get("Idempotency-Key", "")
    )
    answers = boundary.objects.get(ARMED, {}).get("answers", [])
    if not answers:
        return _on_to_localstripe(boundary, body, headers)
    answer, refund_id = answers.pop(0), boundary.new_id("re")
    if answer == REFUSED:
        return _refused(refund_id)
    refund = refund_object(form, answer, refund_id)
    boundary.objects[refund_id] = refund
    return 200, refund


def refund_fails(boundary: StripeBoundary, refund: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``refund`` (as it was, succeeded) fails after all; returns it as Stripe then
    holds it, ``failed`` with its reason and the balance transaction that gave the money back."""
    failed = {
        **refund,
        "status": FAILED,
        "failure_reason": "expired_or_canceled_card",
        "failure_balance_transaction": boundary.new_id("txn"),
    }
    with boundary.lock:
        boundary.objects[refund["id"]] = failed
    return failed


def _get(boundary: StripeBoundary, match, form, body, headers) -> tuple[int, dict]:
    held = boundary.objects.get(match["id"])
    if held is not None and held.get("object") == "refund":
        return 200, held
    request = urllib.request.Request(
        boundary.localstripe_url + f"/v1/refunds/{match['id']}",
        headers={"Authorization": headers["Authorization"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def refunds_held(boundary: StripeBoundary, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """localstripe's list of refunds, each refund the boundary holds as it holds it."""
    return [boundary.objects.get(obj.get("id", ""), obj) for obj in listed]


ROUTES: list[Route] = [
    ("POST", re.compile(r"/v1/refunds"), _create),
    ("GET", re.compile(r"/v1/refunds/(?P<id>re_\w+)"), _get),
]
