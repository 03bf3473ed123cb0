"""Reads of the support desk: the queue with its flags, and one dispute's merged timeline.

Each reads a fixed number of queries however many disputes, events or messages there are."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min, QuerySet

from handover.accounts.models import User
from handover.delivery.models import Delivery, DeliveryFile
from handover.disputes.flags import Act, DisputeFacts, Flag, Kind, TermsVersion, flags_raise
from handover.disputes.models import Dispute, SupportNote
from handover.disputes.rules import event_summary, quoted
from handover.evidence.models import Event, EventType
from handover.evidence.visibility import (
    payload_for,
    reads_as_buyer,
    reads_as_support,
    withheld_types,
)
from handover.lib.errors import NotFound
from handover.offers.models import OfferTerms
from handover.orders.models import Message, Order
from handover.orders.rules import Action, Actor

DEFAULT_RESPONSE_TARGET = timedelta(hours=24)


def response_target() -> timedelta:
    """How soon support should decide a dispute after it opens."""
    return getattr(settings, "HANDOVER_SUPPORT_RESPONSE_TARGET", DEFAULT_RESPONSE_TARGET)


def disputes_with_orders() -> QuerySet[Dispute]:
    """Disputes with what the queue shows of their orders, in one query."""
    return Dispute.objects.select_related(
        "order", "order__buyer", "order__seller", "order__terms", "assigned_to"
    ).order_by("opened_at", "id")


def dispute_visible(*, dispute_id: int, user: User) -> tuple[Dispute, Actor]:
    """The dispute and how ``user`` takes part: a party of its order first (a support agent
    who bought is a buyer here), then support; anyone else is told it does not exist."""
    dispute = disputes_with_orders().filter(pk=dispute_id).first()
    if dispute is not None:
        if user.pk == dispute.order.buyer_id:
            return dispute, Actor.BUYER
        if user.pk == dispute.order.seller_id:
            return dispute, Actor.SELLER
        if user.is_support:
            return dispute, Actor.SUPPORT
    raise NotFound("No such dispute.")


# --- flags -----------------------------------------------------------------------------------

# The events the flags read; preview views and the worker's events are left out (there can
# be thousands of the first, and neither says anything a flag looks at).
_FLAG_EVENTS = [
    EventType.ORDER_TRANSITION,
    EventType.MESSAGE_POSTED,
    EventType.ORIGINAL_DOWNLOADED,
    EventType.ANSWERS_UPDATED,
    EventType.REVISION_GRANTED,
    EventType.DELIVERY_RELEASED_EARLY,
    EventType.AUTO_COMPLETE_CHANGED,
]


def dispute_flags(disputes: Sequence[Dispute], *, now: datetime) -> dict[int, list[Flag]]:
    """The flags of each dispute, by id."""
    facts = dispute_facts(disputes, now=now)
    return {pk: flags_raise(f) for pk, f in facts.items()}


def dispute_facts(disputes: Sequence[Dispute], *, now: datetime) -> dict[int, DisputeFacts]:
    """What the flags need of each dispute (with its order, as ``disputes_with_orders`` reads
    it), in four queries for any number of disputes."""
    orders = {d.order_id: d.order for d in disputes}
    if not orders:
        return {}
    rows = (
        Event.objects.filter(order_id__in=orders, type__in=_FLAG_EVENTS)
        .order_by("id")
        .values_list("order_id", "type", "actor_role", "created_at", "payload")
    )
    first_delivery = dict(
        Delivery.objects.filter(order_id__in=orders)
        .values("order_id")
        .annotate(first=Min("created_at"))
        .values_list("order_id", "first")
    )
    names = dict(
        DeliveryFile.objects.filter(delivery__order_id__in=orders).values_list("id", "name")
    )
    terms: dict[int, list[TermsVersion]] = defaultdict(list)
    offer_ids = {o.offer_id for o in orders.values()}
    for offer_id, version, created_at in OfferTerms.objects.filter(
        offer_id__in=offer_ids
    ).values_list("offer_id", "version", "created_at"):
        terms[offer_id].append(TermsVersion(version, created_at))
    acts: dict[int, list[Act]] = defaultdict(list)
    for order_id, type, role, created_at, payload in rows:
        acts[order_id].append(_act(type, role, created_at, payload, names))
    window = settings.HANDOVER_CANCELLATION_WINDOW
    result = {}
    for dispute in disputes:
        order = dispute.order
        until = dispute.decided_at or now
        result[dispute.pk] = DisputeFacts(
            opened_at=dispute.opened_at,
            until=until,
            paid_at=order.paid_at,
            due_at=order.due_at,
            first_delivery_at=first_delivery.get(order.pk),
            terms_version=order.terms.version,
            offer_terms=tuple(sorted(terms[order.offer_id], key=lambda t: t.version)),
            acts=tuple(sorted((a for a in acts[order.pk] if a.at <= until), key=lambda a: a.at)),
            silence_window=window,
        )
    return result


def _act(type: str, role: str, at: datetime, payload: Any, names: dict[int, str]) -> Act:
    payload = payload if isinstance(payload, dict) else {}
    if type == EventType.ORDER_TRANSITION:
        text = payload.get("reason") or payload.get("message") or ""
        return Act(at, role, Kind.MOVE, action=str(payload.get("action", "")), text=str(text))
    if type == EventType.MESSAGE_POSTED:
        return Act(at, role, Kind.MESSAGE, text=str(payload.get("body", "")))
    if type == EventType.ORIGINAL_DOWNLOADED:
        name = _file_name(payload, names) or f"file {payload.get('file_id')}"
        return Act(at, role, Kind.DOWNLOAD, file=name)
    if type == EventType.ANSWERS_UPDATED:
        return Act(at, role, Kind.ANSWERS_CHANGED)
    return Act(at, role, Kind.OTHER)


def _file_name(payload: Any, names: dict[int, str]) -> str:
    file_id = payload.get("file_id") if isinstance(payload, dict) else None
    return names.get(file_id, "") if isinstance(file_id, int) else ""


# --- the timeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # event, message, delivery, download, preview, note
    actor: str | None  # the username; None for the timer, the provider, the worker
    role: str
    summary: str
    data: dict[str, Any]


# Shown as their own items (a message, a delivery, a note), so not again as events.
_SHOWN_OTHERWISE = [EventType.MESSAGE_POSTED, EventType.SUPPORT_NOTE]
_FILE_EVENTS: dict[str, str] = {
    EventType.ORIGINAL_DOWNLOADED: "download",
    EventType.PREVIEW_VIEWED: "preview",
}


def dispute_timeline(dispute: Dispute, *, role: Actor) -> list[TimelineItem]:
    """The dispute's order as ``order_timeline`` reads it, for a reader in ``role`` (support:
    an agent who is not a party, who also reads support's notes and reports)."""
    return _timeline(
        dispute.order, for_support=role == Actor.SUPPORT, for_buyer=role == Actor.BUYER
    )


def order_timeline(order: Order, *, viewer: User) -> list[TimelineItem]:
    """The order's events, messages, deliveries and downloads as one list in time order.
    Support's notes and the reports filed on the order only for a support agent who is not
    a party (as ``GET /orders/{id}/events`` and ``dispute_visible`` decide); what is kept from
    the buyer (``evidence.visibility``) not for the buyer."""
    support = reads_as_support(viewer, buyer_id=order.buyer_id, seller_id=order.seller_id)
    buyer = reads_as_buyer(viewer, buyer_id=order.buyer_id)
    return _timeline(order, for_support=support, for_buyer=buyer)


def _timeline(order: Order, *, for_support: bool, for_buyer: bool) -> list[TimelineItem]:
    deliveries = list(
        Delivery.objects.filter(order_id=order.pk).prefetch_related("files", "checklist")
    )
    names = {f.pk: f.name for d in deliveries for f in d.files.all()}
    hidden = [*_SHOWN_OTHERWISE, *withheld_types(support=for_support, buyer=for_buyer)]
    items = [
        *_event_items(order, names, hidden=hidden, for_support=for_support),
        *_message_items(order),
        *(_delivery_item(order, d) for d in deliveries),
        *(_note_items(order) if for_support else []),
    ]
    return sorted(items, key=lambda item: item.at)


def _event_items(
    order: Order, names: dict[int, str], *, hidden: list[str], for_support: bool
) -> list[TimelineItem]:
    rows = (
        Event.objects.filter(order_id=order.pk)
        .exclude(type__in=hidden)
        .order_by("id")
        .values_list(
            "id", "type", "actor__username", "actor_role", "created_at", "payload", "sealed__values"
        )
    )
    items = []
    for pk, type, username, role, created_at, stored, sealed in rows:
        payload = payload_for(stored, sealed, support=for_support)
        if type == EventType.ORDER_TRANSITION and payload.get("action") == Action.DELIVER:
            continue  # the delivery's own item says more
        file = _file_name(payload, names)
        summary = event_summary(type, role, payload, currency=order.currency, file=file)
        data = {"event_id": pk, "type": type, "payload": payload}
        if file:
            data["file"] = file
        kind = _FILE_EVENTS.get(type, "event")
        items.append(TimelineItem(created_at, kind, username, role, summary, data))
    return items


def _message_items(order: Order) -> list[TimelineItem]:
    rows = (
        Message.objects.filter(order_id=order.pk)
        .order_by("id")
        .values_list("id", "author__username", "author_role", "body", "created_at")
    )
    return [
        TimelineItem(
            created_at,
            "message",
            username,
            role,
            f"{role.capitalize()}: {quoted(body)}",
            {"message_id": pk, "body": body},
        )
        for pk, username, role, body, created_at in rows
    ]


def _delivery_item(order: Order, delivery: Delivery) -> TimelineItem:
    files = list(delivery.files.all())
    ticks = list(delivery.checklist.all())
    summary = f"Seller delivered {len(files)} file{'s' if len(files) != 1 else ''}"
    summary += f" ({', '.join(f.name for f in files[:5])}{', …' if len(files) > 5 else ''})"
    if order.requirements:
        summary += f", ticking {len(ticks)} of {len(order.requirements)} requirement items"
    if delivery.message.strip():
        summary += f": {quoted(delivery.message)}"
    return TimelineItem(
        delivery.created_at,
        "delivery",
        order.seller.username,
        Actor.SELLER,
        summary,
        {
            "delivery_id": delivery.pk,
            "message": delivery.message,
            "released_early_at": delivery.released_early_at,
            "files": [
                {
                    "id": f.pk,
                    "name": f.name,
                    "size": f.size,
                    "sha256": f.sha256,
                    "kind": f.kind,
                    "preview_state": f.preview_state,
                }
                for f in files
            ],
            "checklist": [
                {
                    "requirement": t.requirement,
                    "question": _question(order.requirements, t.requirement),
                    "note": t.note,
                }
                for t in ticks
            ],
        },
    )


def _question(requirements: list[dict], index: int) -> str:
    return requirements[index].get("question", "") if index < len(requirements) else ""


def _note_items(order: Order) -> list[TimelineItem]:
    """Support's notes on every dispute of the order: an earlier one's notes still matter."""
    rows = (
        SupportNote.objects.filter(dispute__order_id=order.pk)
        .order_by("id")
        .values_list("id", "dispute_id", "author__username", "text", "created_at")
    )
    return [
        TimelineItem(
            created_at,
            "note",
            username,
            Actor.SUPPORT,
            f"Internal note: {quoted(text)}",
            {"note_id": pk, "dispute_id": dispute_id, "text": text},
        )
        for pk, dispute_id, username, text, created_at in rows
    ]


def dispute_summary(dispute: Dispute, now: datetime, flags: list[Flag]) -> dict[str, Any]:
    """A dispute as the queue shows it (the API's and the support pages'): who, why, how old
    against the response target, its flags, and the decision once made."""
    order = dispute.order
    target = response_target()
    due_at = dispute.opened_at + target
    return {
        "id": dispute.pk,
        "order_id": dispute.order_id,
        "order_state": order.state,
        "buyer_id": order.buyer_id,
        "buyer": order.buyer.username,
        "seller_id": order.seller_id,
        "seller": order.seller.username,
        "opened_by_role": dispute.opened_by_role,
        "reason": dispute.reason,
        "opened_at": dispute.opened_at,
        "age_seconds": int((now - dispute.opened_at).total_seconds()),
        "target_seconds": int(target.total_seconds()),
        "due_at": due_at,
        "overdue": dispute.decided_at is None and now > due_at,
        "flags": [{"code": f.code, "reason": f.reason} for f in flags],
        "total": order.total,
        "currency": order.currency,
        "decided_at": dispute.decided_at,
        "outcome": dispute.outcome,
        "refund": dispute.refund,
        "rationale": dispute.rationale,
    }
