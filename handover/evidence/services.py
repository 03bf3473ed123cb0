from typing import Any

from django.db import transaction
from django.utils import timezone

from handover.evidence.models import Event, EventType


def event_append(
    *,
    type: EventType,
    actor_role: str,
    payload: dict[str, Any],
    order=None,
    actor=None,
) -> Event:
    """Append one event; the only writer of event rows. Callers hold the order's row lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_append must run inside the transaction of the change it records")
    event = Event(
        order=order,
        type=type,
        actor=actor,
        actor_role=str(actor_role),
        created_at=timezone.now(),
        payload=payload,
    )
    event.save()
    return event
