import secrets
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from handover.evidence.chain import event_body, event_hash, seal_hash
from handover.evidence.models import Event, EventType, SealedValues
from handover.lib.canonical import canonical_json

# Plain SQL for the INSERT: every move writes an event under the order's lock (on SQLite,
# under the one writer lock), and the ORM took longer to build it than the database to run
# it. The values still go through each field's own conversion, as in Model.save().
_FIELDS = [f for f in Event._meta.concrete_fields if not f.primary_key]
_INSERT = (
    f"INSERT INTO {Event._meta.db_table} ({', '.join(str(f.column) for f in _FIELDS)})"
    f" VALUES ({', '.join(['%s'] * len(_FIELDS))}) RETURNING {Event._meta.pk.column}"
)

# SQLite keeps a JSON column as text: there the payload column holds the payload as the body
# does, canonical JSON, so that `handover verify --log` compares the two as they are (PostgreSQL
# keeps jsonb, its own form, and the verifier encodes each payload again).
_PAYLOAD = next(n for n, f in enumerate(_FIELDS) if f.name == "payload")

_HEAD = f"SELECT hash FROM {Event._meta.db_table} WHERE order_id = %s ORDER BY id DESC LIMIT 1"


def _chain_head(order_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(_HEAD, [order_id])
        row = cursor.fetchone()
    return row[0] if row else ""


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
    event = Event(
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
    values = [
        canonical_json(payload).decode()
        if n == _PAYLOAD and connection.vendor == "sqlite"
        else f.get_db_prep_save(getattr(event, f.attname), connection)
        for n, f in enumerate(_FIELDS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, values)
        (event.pk,) = cursor.fetchone()
    event._state.adding, event._state.db = False, connection.alias
    if sealed is not None:
        SealedValues.objects.create(event=event, salt=salt, values=sealed)
    return event
