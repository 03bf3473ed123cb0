"""Routes of the Stripe boundary server (see ``testing.stripe``) for what localstripe lacks:
Connect's Express accounts, account links and transfers, with the request and response
shapes of Stripe's API reference (https://docs.stripe.com/api/accounts,
https://docs.stripe.com/api/account_links, https://docs.stripe.com/api/transfers).

``GET /connect/onboarding/{account}?return=...`` stands in for Stripe's hosted onboarding,
where an account link sends the seller: it marks the account as onboarded (details
submitted, charges and payouts enabled) and sends the browser back to the return URL.
Requests with an ``Idempotency-Key`` are answered as Stripe does: the same key with the same
parameters gets the first answer again, with other parameters an ``idempotency_error``.
"""

import re
import time
import urllib.parse
from typing import Any

from handover.testing.stripe_boundary import Route, StripeBoundary

Form = dict[str, list[str]]
Answer = tuple[int, dict[str, Any]]

ONBOARDING_PATH = "/connect/onboarding/"


def stripe_error(status: int, message: str, *, param: str = "", code: str = "") -> Answer:
    """Stripe's error body (https://docs.stripe.com/api/errors)."""
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return status, {"error": error}


def missing(param: str) -> Answer:
    return stripe_error(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def no_such(kind: str, object_id: str, param: str = "id") -> Answer:
    return stripe_error(404, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def one(form: Form, name: str) -> str:
    return form.get(name, [""])[0]


def bracketed(form: Form, name: str) -> dict[str, str]:
    """``metadata[key]=value`` fields as ``{key: value}``."""
    prefix = name + "["
    return {k[len(prefix) : -1]: v[0] for k, v in form.items() if k.startswith(prefix)}


def idempotent(boundary: StripeBoundary, headers: Any, form: Form, make) -> Answer:
    """``make()``'s answer, or the first answer given to this Idempotency-Key."""
    key = headers.get("Idempotency-Key")
    if not key:
        return make()
    seen = boundary.objects.get(f"idempotency:{key}")
    if seen is not None:
        if seen["form"] != form:
            return 400, {
                "error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                }
            }
        return seen["answer"]
    answer = make()
    if answer[0] < 500:
        boundary.objects[f"idempotency:{key}"] = {"form": form, "answer": answer}
    return answer


# Accounts


def account_object(account_id: str, form: Form) -> dict[str, Any]:
    """A new Express account before onboarding (https://docs.stripe.com/api/accounts/object)."""
    due = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"]
    requested = [
        k.split("[")[1].rstrip("]")
        for k, v in form.items()
        if k.startswith("capabilities[") and v == ["true"]
    ]
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {"mcc": None, "name": None, "url": None},
        "business_type": None,
        "capabilities": {name: "inactive" for name in requested},
        "charges_enabled": False,
        "controller": {"type": "application", "is_controller": True},
        "country": one(form, "country") or "US",
        "created": int(time.time()),
        "default_currency": "usd",
        "details_submitted": False,
        "email": one(form, "email") or None,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": {"currently_due": [], "eventually_due": [], "past_due": []},
        "metadata": bracketed(form, "metadata"),
        "payouts_enabled": False,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": due,
            "disabled_reason": "requirements.past_due",
            "errors": [],
            "eventually_due": due,
            "past_due": due,
            "pending_verification": [],
        },
        "settings": {},
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": one(form, "type"),
    }


def account_create(boundary, match, form, body, headers) -> Answer:
    def make() -> Answer:
        if not one(form, "type") and not bracketed(form, "controller"):
            return missing("type")
        if one(form, "type") and one(form, "type") not in ("custom", "express", "standard"):
            return stripe_error(
                400, "Invalid type: must be one of custom, express, or standard", param="type"
            )
        account = account_object(boundary.new_id("acct"), form)
        boundary.objects[account["id"]] = account
        return 200, account

    return idempotent(boundary, headers, form, make)


def account_retrieve(boundary, match, form, body, headers) -> Answer:
    account = boundary.objects.get(match["id"])
    if account is None or account.get("object") != "account":
        return no_such("account", match["id"], param="account")
    return 200, account


def account_onboarded(account: dict[str, Any]) -> None:
    """What finishing Stripe's hosted onboarding does to an Express account."""
    account["details_submitted"] = True
    account["charges_enabled"] = True
    account["payouts_enabled"] = True
    account["capabilities"] = {name: "active" for name in account["capabilities"]}
    account["requirements"] |= {
        "currently_due": [],
        "eventually_due": [],
        "past_due": [],
        "disabled_reason": None,
    }


def account_link_create(boundary, match, form, body, headers) -> Answer:
    for param in ("account", "type"):
        if not one(form, param):
            return missing(param)
    if one(form, "type") not in ("account_onboarding", "account_update"):
        return stripe_error(
            400, "Invalid type: must be one of account_onboarding or account_update", param="type"
        )
    account = boundary.objects.get(one(form, "account"))
    if account is None or account.get("object") != "account":
        return no_such("account", one(form, "account"), param="account")
    for param in ("refresh_url", "return_url"):
        if not one(form, param).startswith(("http://", "https://")):
            return stripe_error(400, "Not a valid URL", param=param, code="url_invalid")
    created = int(time.time())
    query = urllib.parse.urlencode({"return": one(form, "return_url")})
    return 200, {
        "object": "account_link",
        "created": created,
        "expires_at": created + 300,
        "url": f"{boundary.url}{ONBOARDING_PATH}{account['id']}?{query}",
    }


def onboarding_page(boundary, match, form, body, headers) -> Answer:
    """Stripe's hosted onboarding, finished at once: back to the platform's return URL."""
    account = boundary.objects.get(match["id"])
    if account is None:
        return no_such("account", match["id"])
    account_onboarded(account)
    return 302, {"location": one(form, "return")}


# Transfers


def transfer_create(boundary, match, form, body, headers) -> Answer:
    def make() -> Answer:
        for param in ("amount", "currency", "destination"):
            if not one(form, param):
                return missing(param)
        amount = one(form, "amount")
        if not amount.isdigit() or int(amount) < 1:
            return stripe_error(
                400, "Invalid positive integer", param="amount", code="parameter_invalid_integer"
            )
        destination = boundary.objects.get(one(form, "destination"))
        if destination is None or destination.get("object") != "account":
            return stripe_error(
                400,
                f"No such destination: '{one(form, 'destination')}'",
                param="destination",
                code="resource_missing",
            )
        if destination["capabilities"].get("transfers") != "active":
            return stripe_error(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                param="destination",
                code="insufficient_capabilities_for_transfer",
            )
        transfer = transfer_object(boundary, form)
        boundary.objects[transfer["id"]] = transfer
        return 200, transfer

    return idempotent(boundary, headers, form, make)


def transfer_object(boundary: StripeBoundary, form: Form) -> dict[str, Any]:
    """https://docs.stripe.com/api/transfers/object"""
    transfer_id = boundary.new_id("tr")
    return {
        "id": transfer_id,
        "object": "transfer",
        "amount": int(one(form, "amount")),
        "amount_reversed": 0,
        "balance_transaction": boundary.new_id("txn"),
        "created": int(time.time()),
        "currency": one(form, "currency").lower(),
        "description": one(form, "description") or None,
        "destination": one(form, "destination"),
        "destination_payment": boundary.new_id("py"),
        "livemode": False,
        "metadata": bracketed(form, "metadata"),
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        "reversed": False,
        "source_transaction": one(form, "source_transaction") or None,
        "source_type": "card",
        "transfer_group": one(form, "transfer_group") or None,
    }


def transfers(boundary: StripeBoundary) -> list[dict[str, Any]]:
    """Every transfer made, oldest first."""
    return [o for o in boundary.objects.values() if o.get("object") == "transfer"]


def transfer_list(boundary, match, form, body, headers) -> Answer:
    found = [
        t
        for t in reversed(transfers(boundary))  # newest first, as Stripe lists
        if all(t[f] == one(form, f) for f in ("transfer_group", "destination") if one(form, f))
    ]
    limit = int(one(form, "limit") or 10)
    return 200, {
        "object": "list",
        "data": found[:limit],
        "has_more": len(found) > limit,
        "url": "/v1/transfers",
    }


def transfer_retrieve(boundary, match, form, body, headers) -> Answer:
    transfer = boundary.objects.get(match["id"])
    if transfer is None or transfer.get("object") != "transfer":
        return no_such("transfer", match["id"], param="id")
    return 200, transfer


ID = r"(?P<id>[A-Za-z0-9_]+)"
ROUTES: list[Route] = [
    ("POST", re.compile(r"/v1/accounts"), account_create),
    ("GET", re.compile(rf"/v1/accounts/{ID}"), account_retrieve),
    ("POST", re.compile(r"/v1/account_links"), account_link_create),
    ("GET", re.compile(rf"{ONBOARDING_PATH}{ID}"), onboarding_page),
    ("POST", re.compile(r"/v1/transfers"), transfer_create),
    ("GET", re.compile(r"/v1/transfers"), transfer_list),
    ("GET", re.compile(rf"/v1/transfers/{ID}"), transfer_retrieve),
]
