"""Handover's answer to a bank's chargeback: Stripe's evidence fields filled from the order's
record, the record's timeline PDF (``records.bundle.evidence_pdf_write``: the same document
as the bundle's timeline.pdf) uploaded as a file, and the whole submitted once.

https://docs.stripe.com/api/disputes/update and https://docs.stripe.com/disputes/best-practices
"""

import io
import ipaddress
import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from handover.billing.chargebacks import seller_note_of, submit_at
from handover.billing.models import ProviderDispute
from handover.delivery.models import Delivery, DeliveryFile
from handover.evidence.models import Event, EventType
from handover.evidence.visibility import payload_for
from handover.orders.models import Message, Order
from handover.orders.rules import Action, Actor
from handover.payments.stripe_client import stripe_client
from handover.records.bundle import evidence_pdf_write

logger = logging.getLogger(__name__)

# Stripe takes at most 20,000 characters in one text field (and 150,000 in all).
FIELD_LIMIT = 20_000


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"


def _cut(text: str) -> str:
    if len(text) <= FIELD_LIMIT:
        return text
    return text[: FIELD_LIMIT - 60] + "\n[cut here; the whole record is in the attached PDF]"


def access_activity_log(order: Order) -> str:
    """Each download of an original: who, when, from which address and browser, how many
    bytes, which file (from the record's events and the values they sealed)."""
    events = (
        Event.objects.filter(order=order, type=EventType.ORIGINAL_DOWNLOADED)
        .select_related("actor", "sealed")
        .order_by("id")
    )
    names = dict(DeliveryFile.objects.filter(delivery__order=order).values_list("pk", "name"))
    lines = []
    for event in events:
        sealed = getattr(event, "sealed", None)
        seen = sealed.values if sealed is not None else {}
        who = event.actor.username if event.actor else event.actor_role
        payload = event.payload
        lines.append(
            f"{_when(event.created_at)}: the {event.actor_role} {who} downloaded the original "
            f"{names.get(payload.get('file_id'), 'file')!r} (SHA-256 {payload.get('sha256', '')}), "
            f"{payload.get('bytes', 0)} bytes, status {payload.get('status', '')}, "
            f"from address {seen.get('address', 'unknown')}, "
            f"browser {seen.get('user_agent', 'unknown')!r}"
        )
    return "\n".join(lines) or "No original was downloaded."


def purchase_address(order: Order) -> str:
    """The address the buyer paid from: that of the latest ``payment.started`` before the order
    was paid, read as support reads its sealed values. "" when the record holds none (paid
    before addresses were recorded, or the value erased) or it is no IP address, which Stripe
    would refuse with the whole answer."""
    if order.paid_at is None:
        return ""
    started = (
        Event.objects.filter(
            order=order, type=EventType.PAYMENT_STARTED, created_at__lte=order.paid_at
        )
        .select_related("sealed")
        .order_by("-id")
        .first()
    )
    if started is None:
        return ""
    sealed = getattr(started, "sealed", None)
    seen = payload_for(started.payload, sealed.values if sealed else None, support=True)
    address = str(seen.get("address") or "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def _deliveries(order: Order) -> str:
    lines = []
    for delivery in Delivery.objects.filter(order=order).prefetch_related("files").order_by("id"):
        files = ", ".join(
            f"{f.name} ({f.size} bytes, SHA-256 {f.sha256})" for f in delivery.files.all()
        )
        lines.append(f"Delivery {delivery.pk} on {_when(delivery.created_at)}: {files}")
    return "\n".join(lines)


def _conversation(order: Order) -> str:
    messages = Message.objects.filter(order=order).select_related("author").order_by("id")
    return "\n".join(
        f"{_when(m.created_at)} {m.author_role} {m.author.username}: {m.body}" for m in messages
    )


def _acceptance(order: Order) -> str:
    accepted = (
        Event.objects.filter(
            order=order, type=EventType.ORDER_TRANSITION, payload__action=Action.ACCEPT
        )
        .order_by("id")
        .first()
    )
    if accepted is None:
        return "The buyer had not accepted the delivery."
    how = (
        "the buyer accepted the delivery"
        if accepted.actor_role == Actor.BUYER
        else "the delivery was accepted automatically after the buyer's review window"
    )
    return f"On {_when(accepted.created_at)} {how} (record event {accepted.hash})."


def _terms(order: Order) -> str:
    requirements = "\n".join(
        f"- {item.get('question', '')}: {item.get('answer', '')}" for item in order.requirements
    )
    return (
        f"When placing order #{order.pk} on {_when(order.created_at)} the buyer accepted the "
        f"seller's terms (version {order.terms.version}, SHA-256 {order.terms_sha256}); "
        "originals are released only on acceptance, and a refund after acceptance is decided "
        f"by the platform's support.\n\nThe terms:\n{order.terms.text}\n\n"
        f"The buyer's requirements:\n{requirements}"
    )


def evidence_fields(row: ProviderDispute) -> dict[str, str]:
    """Stripe's text evidence fields, from the order's record."""
    order = Order.objects.select_related("buyer", "offer", "terms").get(pk=row.order_id)
    buyer = order.buyer
    # The latest note the record holds: what the bank is sent is what the record shows.
    seller_note = seller_note_of(row)
    note = f"\n\nThe seller's note:\n{seller_note}" if seller_note else ""
    fields = {
        "product_description": (
            f"{order.offer.title}: digital work made to the buyer's requirements and delivered "
            f"through Handover (order #{order.pk}), with previews before acceptance and the "
            "originals released on acceptance."
        ),
        "customer_name": buyer.get_full_name() or buyer.username,
        "customer_email_address": buyer.email,
        "customer_purchase_ip": purchase_address(order),
        "service_date": (order.last_delivered_at or order.paid_at or order.created_at).strftime(
            "%Y-%m-%d"
        ),
        "access_activity_log": access_activity_log(order),
        "refund_policy_disclosure": _terms(order),
        "cancellation_policy_disclosure": _terms(order),
        "uncategorized_text": (
            f"Acceptance: {_acceptance(order)}\n\nDelivery receipts:\n{_deliveries(order)}"
            f"{note}\n\nThe conversation on the order:\n{_conversation(order) or '(none)'}\n\n"
            "The attached PDF is the order's whole record, from an append-only, hash-chained "
            "log whose signed bundle verifies offline."
        ),
    }
    return {key: _cut(value) for key, value in fields.items() if value}


def evidence_pdf(order_id: int) -> bytes:
    """The record's timeline PDF, as the bundle holds it."""
    out = io.BytesIO()
    evidence_pdf_write(order_id=order_id, out=out)
    return out.getvalue()


def _upload(row: ProviderDispute) -> str:
    data = io.BytesIO(evidence_pdf(row.order_id))
    data.name = f"order-{row.order_id}-record.pdf"
    uploaded = stripe_client().v1.files.create(
        params={"purpose": "dispute_evidence", "file": data},
        options={"idempotency_key": f"handover-dispute-file-{row.dispute_id}"},
    )
    return uploaded.id


def evidence_submit(*, dispute_pk: int) -> bool:
    """Send the bank Handover's answer to one Stripe dispute, once; False if it was sent
    already, is closed, or is not Stripe's."""
    with transaction.atomic():
        # Locked: the worker and support's "submit now" never both send it.
        row = ProviderDispute.objects.select_for_update().get(pk=dispute_pk)
        if row.submitted_at is not None or row.outcome or row.provider != "stripe":
            return False
        file_id = row.evidence_file or _upload(row)
        evidence: Any = {**evidence_fields(row), "uncategorized_file": file_id}
        stripe_client().v1.disputes.update(
            row.dispute_id,
            params={"evidence": evidence, "submit": True},
            options={"idempotency_key": f"handover-dispute-evidence-{row.dispute_id}"},
        )
        row.evidence_file = file_id
        row.submitted_at = timezone.now()
        row.save(update_fields=["evidence_file", "submitted_at"])
    logger.info("answered Stripe dispute %s for order %s", row.dispute_id, row.order_id)
    return True


def evidence_due(now: datetime | None = None) -> list[int]:
    """Stripe disputes whose answer is due: past the cut-off before the bank's deadline."""
    now = now or timezone.now()
    rows = ProviderDispute.objects.filter(
        provider="stripe", submitted_at__isnull=True, outcome="", held_at__isnull=False
    ).exclude(due_by__isnull=True)
    return [row.pk for row in rows if (cut := submit_at(row)) is not None and cut <= now]


def evidence_submit_due(now: datetime | None = None) -> int:
    """Submit every answer that is due; a failure is logged and tried again next time."""
    sent = 0
    for pk in evidence_due(now):
        try:
            sent += evidence_submit(dispute_pk=pk)
        except Exception:
            logger.exception("could not answer dispute row %s; trying again later", pk)
    return sent
