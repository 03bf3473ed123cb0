"""Routes of the Stripe boundary server (see ``testing.stripe``) for what localstripe lacks:
disputes and file uploads, with the request and response shapes of Stripe's API reference
(https://docs.stripe.com/api/disputes, https://docs.stripe.com/api/files; field names as the
SDK's ``stripe/_dispute.py`` and ``_file.py`` have them). Uploaded files are kept, bytes and
all, so a test can open what the app sent.

Test helpers: ``dispute_create`` opens a dispute on a localstripe charge (the charge asked of
localstripe), ``dispute_close`` decides it, ``dispute_delivery`` is the signed webhook delivery
Stripe would send about it.
"""

import email.parser
import email.policy
import json
import re
import time
import urllib.request
from typing import Any

from handover.testing.stripe_boundary import Route, StripeBoundary

# ``account``: the ``stripe_account`` fixture's object (``testing.stripe.LocalStripe``, not
# imported here: that module imports this one).
LocalStripe = Any

Answer = tuple[int, dict[str, Any]]

# Every text and file field of a dispute's evidence (https://docs.stripe.com/api/disputes/object).
EVIDENCE_TEXT = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
EVIDENCE_FILES = (
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
)
# A dispute still waiting for the seller's answer; submitting moves it under review.
ANSWERABLE = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}
FILE_PURPOSES = {"dispute_evidence", "identity_document", "additional_verification"}


def _error(status: int, message: str, param: str | None = None, code: str = "") -> Answer:
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return status, {"error": error}


def _missing(kind: str, object_id: str) -> Answer:
    return _error(404, f"No such {kind}: '{object_id}'", "id", "resource_missing")


def uploads(boundary: StripeBoundary) -> dict[str, bytes]:
    """The bytes of every file the app uploaded, by file id."""
    return boundary.objects.setdefault("_uploads", {})


def _dispute_get(boundary: StripeBoundary, match, form, body, headers) -> Answer:
    dispute = boundary.objects.get(match["id"])
    if dispute is None or dispute.get("object") != "dispute":
        return _missing("dispute", match["id"])
    return 200, dispute


def _evidence_fields(form: dict[str, list[str]]) -> dict[str, str] | Answer:
    given = {}
    for key, values in form.items():
        found = re.fullmatch(r"evidence\[(\w+)\]", key)
        if not found:
            continue
        name = found[1]
        if name not in EVIDENCE_TEXT + EVIDENCE_FILES:
            return _error(400, f"Received unknown parameter: evidence[{name}]", key)
        given[name] = values[-1]
    return given


def _dispute_update(boundary: StripeBoundary, match, form, body, headers) -> Answer:
    dispute = boundary.objects.get(match["id"])
    if dispute is None or dispute.get("object") != "dispute":
        return _missing("dispute", match["id"])
    if dispute["status"] not in ANSWERABLE:
        return _error(
            400,
            "This dispute is already closed or under review; its evidence can no longer change.",
            "evidence",
        )
    given = _evidence_fields(form)
    if isinstance(given, tuple):
        return given
    for name in EVIDENCE_FILES:
        file_id = given.get(name)
        known = boundary.objects.get(file_id or "")
        if file_id and (known is None or known.get("purpose") != "dispute_evidence"):
            return _error(400, f"No such file upload: '{file_id}'", f"evidence[{name}]")
    dispute["evidence"].update(given)
    details = dispute["evidence_details"]
    details["has_evidence"] = details["has_evidence"] or bool(given)
    if form.get("submit", ["false"])[-1] == "true":
        details["submission_count"] += 1
        details["past_due"] = bool(details["due_by"]) and time.time() > details["due_by"]
        dispute["status"] = ANSWERABLE[dispute["status"]]
    return 200, dispute


def _dispute_list(boundary: StripeBoundary, match, form, body, headers) -> Answer:
    disputes = [o for o in boundary.objects.values() if o.get("object") == "dispute"]
    for key in ("charge", "payment_intent"):
        if key in form:
            disputes = [d for d in disputes if d[key] == form[key][-1]]
    disputes.sort(key=lambda d: d["created"], reverse=True)
    limit = int(form.get("limit", ["10"])[-1])
    return 200, {
        "object": "list",
        "data": disputes[:limit],
        "has_more": len(disputes) > limit,
        "url": "/v1/disputes",
    }


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        parts[str(name)] = (part.get_filename(), data if isinstance(data, bytes) else b"")
    return parts


def _file_create(boundary: StripeBoundary, match, form, body, headers) -> Answer:
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return _error(400, "Files are uploaded as multipart/form-data.", "file")
    parts = _multipart(body, content_type)
    purpose = parts.get("purpose", (None, b""))[1].decode()
    if purpose not in FILE_PURPOSES:
        return _error(400, f"Invalid purpose: {purpose!r}", "purpose")
    if "file" not in parts:
        return _error(400, "Missing required param: file.", "file")
    filename, data = parts["file"]
    kind = "pdf" if data.startswith(b"%PDF") else "png" if data.startswith(b"\x89PNG") else ""
    if purpose == "dispute_evidence" and kind not in ("pdf", "png"):
        return _error(400, "Dispute evidence must be a PDF, JPEG or PNG file.", "file")
    file_id = boundary.new_id("file")
    uploads(boundary)[file_id] = data
    boundary.objects[file_id] = {
        "id": file_id,
        "object": "file",
        "created": int(time.time()),
        "expires_at": None,
        "filename": filename,
        "links": {"object": "list", "data": [], "has_more": False, "url": "/v1/file_links"},
        "purpose": purpose,
        "size": len(data),
        "title": None,
        "type": kind,
        "url": f"https://files.stripe.com/v1/files/{file_id}/contents",
    }
    return 200, boundary.objects[file_id]


ROUTES: list[Route] = [
    ("GET", re.compile(r"/v1/disputes"), _dispute_list),
    ("GET", re.compile(r"/v1/disputes/(?P<id>dp_\w+)"), _dispute_get),
    ("POST", re.compile(r"/v1/disputes/(?P<id>dp_\w+)"), _dispute_update),
    ("POST", re.compile(r"/v1/files"), _file_create),
]


# --- test helpers ----------------------------------------------------------------------------


def _localstripe(account: LocalStripe, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        account.localstripe_url + path, headers={"Authorization": "Bearer sk_test_handover"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _charge_of(account: LocalStripe, payment_intent: str) -> dict[str, Any]:
    intent = _localstripe(account, f"/v1/payment_intents/{payment_intent}")
    charge = intent.get("latest_charge") or (intent.get("charges") or {}).get("data", [{}])[0]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    return _localstripe(account, f"/v1/charges/{charge_id}")


def dispute_create(
    account: LocalStripe,
    payment_intent: str,
    *,
    reason: str = "product_not_received",
    due_in: int = 7 * 86400,
    status: str = "needs_response",
) -> dict[str, Any]:
    """A dispute, as the buyer's bank opens it, on the localstripe charge of ``payment_intent``
    (what Stripe's test card 4000000000000259 would make happen)."""
    boundary = account.boundary
    charge = _charge_of(account, payment_intent)
    now = int(time.time())
    dispute = {
        "id": boundary.new_id("dp"),
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {name: None for name in EVIDENCE_TEXT + EVIDENCE_FILES},
        "evidence_details": {
            "due_by": now + due_in,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": None,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "13.1",
        "payment_intent": payment_intent,
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "13.1"},
        },
        "reason": reason,
        "status": status,
    }
    with boundary.lock:
        boundary.objects[dispute["id"]] = dispute
    return json.loads(json.dumps(dispute))


def dispute_close(account: LocalStripe, dispute_id: str, status: str) -> dict[str, Any]:
    """The bank's decision: ``won``, ``lost`` or ``warning_closed``."""
    with account.boundary.lock:
        dispute = account.boundary.objects[dispute_id]
        dispute["status"] = status
        return json.loads(json.dumps(dispute))


def dispute_delivery(account: LocalStripe, event_type: str, dispute: dict[str, Any]) -> Any:
    """The signed ``charge.dispute.*`` webhook Stripe sends about ``dispute``."""
    return account.signed(account.event(event_type, dispute))
