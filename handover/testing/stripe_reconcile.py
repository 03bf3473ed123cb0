"""Routes of the Stripe boundary server (see ``testing.stripe``) that reconciliation reads and
localstripe lacks: the lists of transfers and disputes, and each one by id, in the shapes of
Stripe's API reference (https://docs.stripe.com/api/transfers/list,
https://docs.stripe.com/api/disputes/list); and the ``created`` filter of the lists of
PaymentIntents and refunds (https://docs.stripe.com/api/payment_intents/list), which
localstripe refuses: those lists are fetched from it whole, then filtered here (with each
refund ``testing.stripe_refunds`` holds as it holds it). Tests put the
transfers and disputes in ``boundary.objects`` with ``transfer_add`` and ``dispute_add``; the
Connect and disputes routes may add them too."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from handover.testing.stripe_boundary import Route, StripeBoundary
from handover.testing.stripe_refunds import refunds_held

Answer = tuple[int, dict[str, Any]]


def _error(status: int, message: str) -> Answer:
    return status, {"error": {"type": "invalid_request_error", "message": message}}


def _window(form: dict[str, list[str]]) -> dict[str, int]:
    """Stripe's ``created[gte]``, ``created[lt]``, ... as {"gte": ..., ...}."""
    return {
        key[len("created[") : -1]: int(values[0])
        for key, values in form.items()
        if key.startswith("created[")
    }


_COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _page(found: list[dict[str, Any]], form: dict[str, list[str]], url: str) -> Answer:
    """One page of a list, newest first, as Stripe pages them (``limit``, ``starting_after``)."""
    limit = int(form.get("limit", ["10"])[0])
    if not 1 <= limit <= 100:
        return _error(400, "limit must be from 1 to 100")
    window = _window(form)
    found = [
        obj
        for obj in found
        if all(_COMPARE[op](obj["created"], bound) for op, bound in window.items())
    ]
    found = sorted(found, key=lambda obj: obj["created"], reverse=True)  # stable: ties kept
    after = form.get("starting_after", [None])[0]
    if after is not None:
        ids = [obj["id"] for obj in found]
        if after not in ids:
            return _error(400, f"No such object: '{after}'")
        found = found[ids.index(after) + 1 :]
    page = found[:limit]
    return 200, {"object": "list", "url": url, "has_more": len(found) > limit, "data": page}


def _lister(kind: str, url: str):
    def listing(boundary: StripeBoundary, match, form, body, headers) -> Answer:
        newest_first = reversed(boundary.objects.values())
        return _page([obj for obj in newest_first if obj["object"] == kind], form, url)

    return listing


def _localstripe(boundary: StripeBoundary, path: str, headers) -> Answer:
    request = urllib.request.Request(
        boundary.localstripe_url + path, headers={"Authorization": headers["Authorization"]}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _created_filter(url: str):
    """localstripe's own list at ``url``, with the ``created`` filter it refuses: every page
    fetched from it, then filtered and paged here. Without one, its answer as it is."""

    def listing(boundary: StripeBoundary, match, form, body, headers) -> Answer:
        if not _window(form):
            query = urllib.parse.urlencode({k: v[0] for k, v in form.items()})
            status, answer = _localstripe(boundary, f"{url}?{query}", headers)
            if status == 200:
                answer["data"] = refunds_held(boundary, answer["data"])
            return status, answer
        found: list[dict[str, Any]] = []
        after = ""
        while True:
            status, answer = _localstripe(
                boundary, f"{url}?limit=100{after and '&starting_after=' + after}", headers
            )
            if status != 200:
                return status, answer
            found += refunds_held(boundary, answer["data"])
            if not answer["has_more"]:
                return _page(found, form, url)
            after = answer["data"][-1]["id"]

    return listing


def _getter(kind: str):
    def get(boundary: StripeBoundary, match, form, body, headers) -> Answer:
        obj = boundary.objects.get(match["id"])
        if obj is None or obj["object"] != kind:
            return _error(404, f"No such {kind}: '{match['id']}'")
        return 200, obj

    return get


def transfer_add(
    boundary: StripeBoundary,
    *,
    amount: int,
    currency: str,
    transfer_group: str | None = None,
    metadata: dict[str, str] | None = None,
    reversed_: bool = False,
) -> dict[str, Any]:
    """A transfer to a connected account, as Stripe holds it."""
    transfer_id = boundary.new_id("tr")
    transfer = {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": amount if reversed_ else 0,
        "balance_transaction": boundary.new_id("txn"),
        "created": int(time.time()),
        "currency": currency.lower(),
        "description": None,
        "destination": "acct_" + transfer_id[3:19],
        "destination_payment": boundary.new_id("py"),
        "livemode": False,
        "metadata": metadata or {},
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        "reversed": reversed_,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": transfer_group,
    }
    with boundary.lock:
        boundary.objects[transfer_id] = transfer
    return transfer


def dispute_add(
    boundary: StripeBoundary,
    *,
    payment_intent: str,
    amount: int,
    currency: str,
    status: str = "needs_response",
) -> dict[str, Any]:
    """A dispute of a payment, as Stripe holds it."""
    dispute_id = boundary.new_id("dp")
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": boundary.new_id("ch"),
        "created": int(time.time()),
        "currency": currency.lower(),
        "evidence": {},
        "evidence_details": {
            "due_by": int(time.time()) + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": status,
    }
    with boundary.lock:
        boundary.objects[dispute_id] = dispute
    return dispute


ROUTES: list[Route] = [
    ("GET", re.compile(r"/v1/payment_intents"), _created_filter("/v1/payment_intents")),
    ("GET", re.compile(r"/v1/refunds"), _created_filter("/v1/refunds")),
    ("GET", re.compile(r"/v1/transfers"), _lister("transfer", "/v1/transfers")),
    ("GET", re.compile(r"/v1/transfers/(?P<id>tr_\w+)"), _getter("transfer")),
    ("GET", re.compile(r"/v1/disputes"), _lister("dispute", "/v1/disputes")),
    ("GET", re.compile(r"/v1/disputes/(?P<id>dp_\w+)"), _getter("dispute")),
]
