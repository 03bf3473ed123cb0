"""Support opening a dispute for a party, and "assign to me": who may, what the record keeps,
and what the parties are shown of it."""

import pytest

from handover.accounts.models import Role
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_assign, dispute_decide, dispute_open
from handover.evidence.models import Event, EventType
from handover.lib.errors import Conflict, InvalidInput, PermissionDenied, TransitionNotAllowed
from handover.orders.rules import Actor, State
from handover.testing.actors import make_user
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok


@pytest.fixture
def cast(buyer, seller, support) -> dict:
    return {"buyer": buyer, "seller": seller, "support": support}


def test_support_must_say_whom_it_opens_a_dispute_for(cast, support):
    order = order_in_state(State.DELIVERED, **cast)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="say which"):
        dispute_open(order_id=order.pk, user=support, text="x", rationale="y")
    with pytest.raises(InvalidInput, match="Say which party"):
        dispute_open(order_id=order.pk, user=support, text="x", for_party=Actor.SUPPORT)
    with pytest.raises(InvalidInput, match="rationale may not be empty"):
        dispute_open(order_id=order.pk, user=support, text="x", for_party=Actor.BUYER)
    assert db_snapshot() == before


def test_a_party_cannot_open_a_dispute_for_the_other(cast, buyer):
    order = order_in_state(State.DELIVERED, **cast)
    with pytest.raises(TransitionNotAllowed, match="Only support"):
        dispute_open(order_id=order.pk, user=buyer, text="x", for_party=Actor.SELLER)


def test_after_completion_support_opens_one_for_the_buyer_only(cast, support):
    order = order_in_state(State.COMPLETED, **cast)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="only the buyer"):
        dispute_open(
            order_id=order.pk, user=support, text="x", for_party=Actor.SELLER, rationale="y"
        )
    assert db_snapshot() == before
    dispute_open(order_id=order.pk, user=support, text="x", for_party=Actor.BUYER, rationale="y")
    assert Dispute.objects.get(order=order).opened_for == "buyer"


@pytest.fixture
def disputed(cast):
    order = order_in_state(State.DISPUTED, **cast)
    return Dispute.objects.get(order=order)


def assignments(dispute: Dispute) -> list[dict]:
    events = Event.objects.filter(order=dispute.order_id, type=EventType.DISPUTE_ASSIGNED)
    return [e.payload for e in events]


def test_an_agent_takes_a_dispute_and_the_record_keeps_it_from_the_parties(
    disputed, support, buyer_api
):
    dispute_assign(dispute_id=disputed.pk, user=support)
    disputed.refresh_from_db()
    assert disputed.assigned_to == support and disputed.assigned_at is not None
    assert assignments(disputed) == [
        {"dispute_id": disputed.pk, "agent_id": support.pk, "previous_agent_id": None}
    ]
    seen = ok(buyer_api.get(f"/orders/{disputed.order_id}/events"))
    types = [e["type"] for e in seen["items"]]
    assert EventType.ORDER_TRANSITION in types
    assert EventType.DISPUTE_ASSIGNED not in types
    dispute_assign(dispute_id=disputed.pk, user=support)  # again: nothing new
    assert len(assignments(disputed)) == 1


def test_another_agent_takes_it_over_on_the_record(disputed, support):
    dispute_assign(dispute_id=disputed.pk, user=support)
    other = make_user("desk", Role.SUPPORT)
    dispute_assign(dispute_id=disputed.pk, user=other)
    assert assignments(disputed)[-1]["previous_agent_id"] == support.pk
    assert Dispute.objects.get(pk=disputed.pk).assigned_to == other


def test_nobody_else_takes_a_dispute_and_a_decided_one_stays_as_it_is(disputed, buyer, support):
    before = db_snapshot()
    with pytest.raises(PermissionDenied):
        dispute_assign(dispute_id=disputed.pk, user=buyer)
    assert db_snapshot() == before
    dispute_decide(dispute_id=disputed.pk, user=support, outcome="release", refund=None, text="ok")
    before = db_snapshot()
    with pytest.raises(Conflict):
        dispute_assign(dispute_id=disputed.pk, user=support)
    assert db_snapshot() == before


def test_an_agent_who_is_a_party_cannot_take_their_own_dispute(seller, support):
    agent = make_user("agent", Role.SUPPORT)
    order = order_in_state(State.DISPUTED, buyer=agent, seller=seller, support=support)
    dispute = Dispute.objects.get(order=order)
    with pytest.raises(PermissionDenied, match="your own order"):
        dispute_assign(dispute_id=dispute.pk, user=agent)
