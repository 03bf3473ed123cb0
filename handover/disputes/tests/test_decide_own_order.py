import pytest

from handover.accounts.models import Role
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide, dispute_open
from handover.lib.errors import PermissionDenied
from handover.orders import services
from handover.orders.rules import State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot


def test_a_support_agent_cannot_decide_a_dispute_on_their_own_order(seller):
    agent = make_user("agent", Role.SUPPORT)  # anyone can buy, support agents too
    order = services.order_place(buyer=agent, offer_id=make_offer(seller).pk, answers=["a", "b"])
    services.order_pay(order_id=order.pk, user=agent)
    dispute_open(order_id=order.pk, user=agent, text="Nothing yet.")
    dispute = Dispute.objects.get(order=order)
    before = db_snapshot()
    with pytest.raises(PermissionDenied):
        dispute_decide(
            dispute_id=dispute.pk, user=agent, outcome="refund", refund=None, text="Mine."
        )
    assert db_snapshot() == before
    other = make_user("agent", Role.SUPPORT)
    dispute_decide(dispute_id=dispute.pk, user=other, outcome="refund", refund=None, text="Late.")
    order.refresh_from_db()
    assert order.state == State.CANCELLED and order.refunded == order.total
