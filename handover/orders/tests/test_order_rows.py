"""How a move reads and writes the order row: order_lock and order_move in plain SQL must
read and write exactly what the ORM did."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from handover.lib.errors import NotFound
from handover.offers.models import OfferTerms
from handover.offers.services import offer_set_active
from handover.orders import services
from handover.orders.models import Order
from handover.orders.rules import Action, Actor, State
from handover.testing.factories import make_offer, order_in_state

pytestmark = pytest.mark.django_db

BEYOND_64_BITS = [2**63, -(2**63) - 1, 10**30]


def field_values(order: Order) -> dict[str, Any]:
    return {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}


def test_order_lock_reads_every_field_as_the_orm_does(buyer, seller, support):
    order = order_in_state(
        State.CANCELLATION_REQUESTED, buyer=buyer, seller=seller, support=support, refund=100
    )
    # Fill what the lifecycle leaves empty, so every converter (durations too) is exercised.
    Order.objects.filter(pk=order.pk).update(paused_remaining=timedelta(hours=5, microseconds=7))
    expected = field_values(Order.objects.get(pk=order.pk))

    with transaction.atomic():
        locked = field_values(services.order_lock(order.pk))

    assert locked == expected
    assert {k: type(v) for k, v in locked.items()} == {k: type(v) for k, v in expected.items()}
    assert locked["created_at"].tzinfo is not None and locked["requirements"]


def test_order_lock_brings_the_names_the_answer_shows_and_the_rest_on_use(buyer, seller, support):
    order = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    with transaction.atomic():
        locked = services.order_lock(order.pk)
        with CaptureQueriesContext(connection) as queries:
            names = (locked.buyer.username, locked.seller.username, locked.terms.version)
        assert len(queries) == 0
        assert names == (buyer.username, seller.username, order.terms.version)
        assert (locked.buyer.email, locked.terms.sha256) == (buyer.email, order.terms.sha256)


@pytest.mark.parametrize("order_id", [0, *BEYOND_64_BITS])
def test_an_order_that_cannot_exist_is_not_found(db, order_id):
    with transaction.atomic(), pytest.raises(NotFound):
        services.order_lock(order_id)


@pytest.mark.parametrize("order_id", BEYOND_64_BITS[:1])
def test_acting_on_an_order_id_beyond_64_bits_is_404(buyer_api, order_id):
    response = buyer_api.act(order_id, "pay")
    assert response.status_code == 404, response.content


def test_a_move_writes_every_field_changed_before_and_during_it(buyer, seller, support):
    order = order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
    with transaction.atomic():
        locked = services.order_lock(order.pk)
        locked.revisions_granted += 2  # changed by the caller before the move
        locked.requirements[0]["answer"] = "Changed in place."

        def changes(o: Order) -> None:
            o.cancellation_reason = "Changed by the move's own changes."

        services.order_move(
            order=locked,
            action=Action.REQUEST_REVISION,
            actor=Actor.BUYER,
            user=buyer,
            target=State.REVISION_REQUESTED,
            changes=changes,
        )
        in_memory = field_values(locked)

    assert field_values(Order.objects.get(pk=order.pk)) == in_memory
    assert in_memory["state"] == State.REVISION_REQUESTED
    assert in_memory["requirements"][0]["answer"] == "Changed in place."


def test_a_move_writes_only_the_fields_that_changed(buyer, seller, support):
    order = order_in_state(State.PENDING_PAYMENT, buyer=buyer, seller=seller, support=support)
    with transaction.atomic():
        locked = services.order_lock(order.pk)
        # Nobody else can change the row under the lock; this test does, to see what is written.
        Order.objects.filter(pk=order.pk).update(payment_reference="written behind the lock")
        services.order_move(
            order=locked,
            action=Action.ABANDON,
            actor=Actor.BUYER,
            user=buyer,
            target=State.CANCELLED,
        )

    stored = Order.objects.get(pk=order.pk)
    assert stored.state == State.CANCELLED and stored.closed_at is not None
    assert stored.payment_reference == "written behind the lock"


def test_an_order_not_read_by_order_lock_is_saved_whole(buyer, seller, support):
    order = order_in_state(State.PENDING_PAYMENT, buyer=buyer, seller=seller, support=support)
    order.timer_at = timezone.now()  # the move sets it to None: only a full save writes that
    with transaction.atomic():
        services.order_move(
            order=order,
            action=Action.ABANDON,
            actor=Actor.BUYER,
            user=buyer,
            target=State.CANCELLED,
        )
    assert field_values(Order.objects.get(pk=order.pk)) == field_values(order)


def test_nothing_listens_to_order_saves():
    # order_move writes the order in plain SQL, which sends no signals: a receiver added for
    # Order would silently miss every move. Make order_move call save() before adding one.
    assert not pre_save.has_listeners(Order)
    assert not post_save.has_listeners(Order)


def test_placing_an_order_takes_the_current_terms_and_the_sellers_name(buyer, seller):
    offer = make_offer(seller)
    current = OfferTerms.objects.create(offer=offer, version=2, text="Terms v2.")
    order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])

    assert (order.terms_id, order.terms.version, order.terms_sha256) == (
        current.pk,
        current.version,
        current.sha256,
    )
    assert order.seller.username == seller.username
    assert Order.objects.get(pk=order.pk).terms_id == current.pk


@pytest.mark.parametrize("offer_id", [0, *BEYOND_64_BITS])
def test_placing_an_order_on_an_offer_that_cannot_exist_is_not_found(buyer, offer_id):
    with pytest.raises(NotFound):
        services.order_place(buyer=buyer, offer_id=offer_id, answers=[])


def test_an_inactive_offer_cannot_be_ordered(buyer, seller):
    offer = make_offer(seller)
    offer_set_active(offer_id=offer.pk, seller=seller, active=False)
    with pytest.raises(NotFound):
        services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    assert not Order.objects.exists()
