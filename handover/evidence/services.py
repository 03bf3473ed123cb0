import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from handover.evidence.chain import event_body, event_hash, seal_hash
from handover.evidence.models import Event, EventType, SealedValues


def _chain_head(order_id: int) -> str:
    head = Event.objects.filter(order_id=order_id).order_by("-id").values_list("hash", flat=True)
    return head.first() or ""


def event_append(
    *,
    type: EventType,
    actor_role: str,
    payload: dict[str, Any],
    order=None,
    actor=None,
    sealed: dict[str, Any] | None = None,
) -> Event:
    """Append one event; the only writer of event rows. Callers hold the order's row lock.

    The event's body (canonical JSON, see ``evidence.chain``) carries the hash of the order's
    previous event; the worker later makes it a leaf of the Merkle log (``log_sequence``).
    ``sealed`` values are for support only (``evidence.visibility``): the body holds their
    salted hash, a ``SealedValues`` row the values. The caller then writes the event's
    notifications (``notifications_for_event``) in the same transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_append must run inside the transaction of the change it records")
    salt = secrets.token_hex(16) if sealed is not None else ""
    if sealed is not None:
        payload = {**payload, "sealed": seal_hash(salt, sealed)}
    created_at = timezone.now()
    # The order's chain: callers hold the order's row lock, so nothing comes in between.
    prev_hash = _chain_head(order.pk) if order is not None else ""
    body = event_body(
        order_id=order.pk if order is not None else None,
        type=str(type),
        actor_id=actor.pk if actor is not None else None,
        actor_role=str(actor_role),
        created_at=created_at.isoformat(),
        payload=payload,
        prev_hash=prev_hash,
    )
    event = Event.objects.create(
        order=order,
        type=type,
        actor=actor,
        actor_role=str(actor_role),
        created_at=created_at,
        payload=payload,
        body=body.decode(),
        prev_hash=prev_hash,
        hash=event_hash(body),
    )
    if sealed is not None:
        SealedValues.objects.create(event=event, salt=salt, values=sealed)
    return event
