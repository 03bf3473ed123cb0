"""event_append writes one event row, as Model.save() would have written it."""

import pytest
from django.db import transaction

from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
from handover.orders.rules import Actor, State
from handover.testing.factories import order_in_state

pytestmark = pytest.mark.django_db


def test_an_event_is_stored_as_it_is_returned(buyer, seller, support):
    order = order_in_state(State.PENDING_PAYMENT, buyer=buyer, seller=seller, support=support)
    payload = {"text": 'Grüße, 你好 🙂 "quoted"', "nested": {"list": [1, 2.5, None, True]}}
    with transaction.atomic():
        event = event_append(
            order=order,
            type=EventType.MESSAGE_POSTED,
            actor=buyer,
            actor_role=Actor.BUYER,
            payload=payload,
        )

    stored = Event.objects.get(pk=event.pk)
    assert (stored.order_id, stored.type, stored.actor_id, stored.actor_role) == (
        order.pk,
        "message.posted",
        buyer.pk,
        "buyer",
    )
    assert stored.created_at == event.created_at and stored.payload == payload
    assert event.pk > Event.objects.filter(order=order).exclude(pk=event.pk).latest("pk").pk
    assert not event._state.adding


def test_an_event_without_order_or_actor_is_stored_with_neither(db):
    with transaction.atomic():
        event = event_append(type=EventType.OFFER_CREATED, actor_role="seller", payload={})
    stored = Event.objects.get(pk=event.pk)
    assert (stored.order_id, stored.actor_id, stored.payload) == (None, None, {})
