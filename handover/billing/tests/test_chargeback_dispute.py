"""An internal dispute meets a chargeback: while the bank decides, support cannot decide the
dispute (the money is with the bank); a lost chargeback closes the dispute, by Handover, with
the reason and no money moved, in the chargeback's transaction; a won one returns the order to
its dispute, which carries on."""

import pytest
from django.test import Client

from handover.billing.chargebacks import chargeback_outcome_record, chargeback_record
from handover.disputes.models import Dispute, Outcome
from handover.disputes.services import CLOSED_BY_CHARGEBACK, dispute_decide
from handover.evidence.models import Event, EventType
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.lib.errors import InvalidInput, TransitionNotAllowed
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balances, ledger_kinds, refused

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def held(buyer, seller, support) -> tuple[Order, Dispute]:
    """A delivered order the buyer disputed, then charged back at the bank (support records
    the bank's letter)."""
    order = order_in_state(
        State.DISPUTED, buyer=buyer, seller=seller, support=support, from_state=State.DELIVERED
    )
    dispute = Dispute.objects.get(order=order)
    order = chargeback_record(order_id=order.pk, user=support, reference="CB-9", text="Letter.")
    assert (order.state, order.chargeback_return_state) == (State.CHARGEBACK_HOLD, "disputed")
    return order, dispute


def test_support_cannot_decide_a_dispute_while_the_bank_holds_the_money(held, support, support_api):
    _order, dispute = held
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="the money is with the bank"):
        dispute_decide(
            dispute_id=dispute.pk, user=support, outcome="refund", refund=None, text="Refund."
        )
    answer = refused(
        support_api.post(f"/disputes/{dispute.pk}/decision", {"outcome": "split", "text": "S."}),
        409,
        "transition_not_allowed",
    )
    assert "until it decides the chargeback" in answer["detail"]
    assert db_snapshot() == before

    desk = signed_in(support)
    page = desk.get(f"/support/disputes/{dispute.pk}/").content.decode()
    assert "the money is with the bank until it decides the chargeback" in page
    assert "Review the decision" not in page
    queue = desk.get("/support/disputes/").content.decode()
    assert "On hold for a chargeback" in queue
    data = {"outcome": "refund", "text": "Refund.", "confirm": "yes"}
    shown = desk.post(f"/support/disputes/{dispute.pk}/decision/", data, follow=True)
    assert "the money is with the bank until it decides the chargeback" in shown.content.decode()
    assert db_snapshot() == before


def test_a_lost_chargeback_closes_the_dispute_with_its_reason_and_moves_no_money(
    held, buyer, seller, support
):
    order, dispute = held
    kinds = ledger_kinds(order.pk)
    assert kinds[-1] == "chargeback"
    chargeback_outcome_record(order_id=order.pk, user=support, won=False, text="Lost.")
    order.refresh_from_db()
    dispute.refresh_from_db()
    assert order.state == State.CHARGED_BACK
    assert (dispute.outcome, dispute.rationale) == (Outcome.CLOSED, CLOSED_BY_CHARGEBACK)
    assert dispute.decided_at is not None and dispute.decided_by is None
    assert dispute.refund is None
    # The chargeback took the money back; closing the dispute moved none.
    assert ledger_kinds(order.pk) == kinds
    assert balances(order.pk, seller)["escrow"] == 0
    assert_ledger_invariants()
    [closed] = Event.objects.filter(order=order, type=EventType.DISPUTE_CLOSED)
    assert (closed.actor_id, closed.actor_role) == (None, "provider")
    assert closed.payload == {
        "dispute_id": dispute.pk,
        "outcome": "closed",
        "reason": CLOSED_BY_CHARGEBACK,
    }
    lost = Event.objects.filter(order=order, payload__action="chargeback_lost").get()
    assert lost.pk < closed.pk  # the loss, then the close, in one transaction

    desk = signed_in(support)
    open_queue = desk.get("/support/disputes/").content.decode()
    assert f"Dispute #{dispute.pk}:" not in open_queue
    decided = desk.get("/support/disputes/?state=decided").content.decode()
    assert f"Dispute #{dispute.pk}:" in decided
    assert f"Closed without a decision: {CLOSED_BY_CHARGEBACK}" in decided
    dispute_page = desk.get(f"/support/disputes/{dispute.pk}/").content.decode()
    assert "Closed without a decision; no money moved" in dispute_page
    assert CLOSED_BY_CHARGEBACK in dispute_page
    desk_order = desk.get(f"/support/orders/{order.pk}/").content.decode()
    assert f"closed without a decision: {CLOSED_BY_CHARGEBACK}" in desk_order
    for party in (buyer, seller):
        page = signed_in(party).get(f"/orders/{order.pk}/").content.decode()
        assert "The dispute was closed without a decision" in page
        assert CLOSED_BY_CHARGEBACK in page


def test_a_won_chargeback_returns_the_order_to_its_dispute_which_carries_on(held, support):
    order, dispute = held
    chargeback_outcome_record(order_id=order.pk, user=support, won=True, text="Won.")
    order.refresh_from_db()
    dispute.refresh_from_db()
    assert order.state == State.DISPUTED
    assert dispute.decided_at is None and dispute.outcome == ""
    assert not Event.objects.filter(order=order, type=EventType.DISPUTE_CLOSED).exists()
    queue = signed_in(support).get("/support/disputes/").content.decode()
    assert f"Dispute #{dispute.pk}:" in queue

    dispute_decide(
        dispute_id=dispute.pk, user=support, outcome="release", refund=None, text="Delivered."
    )
    order.refresh_from_db()
    assert order.state == State.COMPLETED
    assert_ledger_invariants()


def test_closed_is_no_decision_support_can_make(held, support):
    order, dispute = held
    assert order.state == State.CHARGEBACK_HOLD
    chargeback_outcome_record(order_id=order.pk, user=support, won=True, text="Won.")
    with pytest.raises(InvalidInput, match="release, refund or split"):
        dispute_decide(
            dispute_id=dispute.pk, user=support, outcome="closed", refund=None, text="Closing."
        )
    dispute.refresh_from_db()
    assert dispute.decided_at is None
