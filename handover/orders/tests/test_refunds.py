"""Every refund path with the providers that confirm at once (``test``, ``manual``): each
refund the ledger makes is one provider refund of exactly that amount, confirmed and posted
out of the order's refunding account in the same move, and the ledger's invariants hold.
Every path against each of the two providers: exhaustive, no sampling."""

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine

from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, Entry, TransactionKind
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.providers import ManualProvider, TestProvider
from handover.testing.factories import order_in_state

pytestmark = pytest.mark.django_db

TOTAL = 10550  # the factories' offer: 100.00 EUR and the buyer's fee


def _decide(order: Order, support, outcome: str, refund: int | None = None) -> None:
    dispute = Dispute.objects.get(order=order, decided_at__isnull=True)
    dispute_decide(dispute_id=dispute.pk, user=support, outcome=outcome, refund=refund, text="Why.")


def _decline(cast) -> Order:
    order = order_in_state(State.AWAITING_ACCEPTANCE, **cast)
    services.order_decline_order(order_id=order.pk, user=cast["seller"])
    return order


def _decline_by_timer(cast) -> Order:
    order = order_in_state(State.AWAITING_ACCEPTANCE, **cast)
    assert order.timer_at is not None
    with time_machine.travel(order.timer_at + timedelta(seconds=1)):
        services.order_decline_order(order_id=order.pk, user=None)
    return order


def _cancel_late(cast) -> Order:
    order = order_in_state(State.IN_PROGRESS, **cast)
    assert order.due_at is not None
    with time_machine.travel(order.due_at + timedelta(hours=1)):
        services.order_cancel_late(order_id=order.pk, user=cast["buyer"])
    return order


def _cancellation(refund: int, close: str) -> Callable[[dict], Order]:
    def path(cast) -> Order:
        order = order_in_state(State.CANCELLATION_REQUESTED, **cast, refund=refund)
        if close == "accept":
            cancellation.order_accept_cancellation(order_id=order.pk, user=cast["seller"])
        elif close == "support":
            cancellation.order_settle_cancellation(
                order_id=order.pk, user=cast["support"], accept=True, text="Both agreed."
            )
        else:
            order = Order.objects.get(pk=order.pk)
            assert order.timer_at is not None
            with time_machine.travel(order.timer_at + timedelta(seconds=1)):
                cancellation.order_expire_cancellation(order_id=order.pk)
        return order

    return path


def _decision(outcome: str, refund: int | None, *, after_completion: bool = False):
    def path(cast) -> Order:
        source = State.COMPLETED if after_completion else State.IN_PROGRESS
        order = order_in_state(State.DISPUTED, **cast, from_state=source)
        _decide(order, cast["support"], outcome, refund)
        return order

    return path


# Each way money goes back to the buyer, and what the buyer gets back.
PATHS: dict[str, tuple[Callable[[dict], Order], int]] = {
    "decline": (_decline, TOTAL),
    "decline-by-timer": (_decline_by_timer, TOTAL),
    "late-delivery": (_cancel_late, TOTAL),
    "cancellation-accepted-in-part": (_cancellation(3000, "accept"), 3000),
    "cancellation-accepted-in-full": (_cancellation(TOTAL, "accept"), TOTAL),
    "cancellation-settled-by-support": (_cancellation(2500, "support"), 2500),
    "cancellation-expired": (_cancellation(1000, "timer"), 1000),
    "decision-refund": (_decision("refund", None), TOTAL),
    "decision-split": (_decision("split", 5275), 5275),
    "decision-release": (_decision("release", None), 0),
    "decision-split-after-completion": (_decision("split", 4000, after_completion=True), 4000),
    "decision-refund-after-completion": (_decision("refund", None, after_completion=True), TOTAL),
}


@pytest.fixture(params=["test", "manual"])
def provider(request, settings, monkeypatch) -> str:
    """Orders taken through this provider. A manual transfer is confirmed as it starts here
    (the refunds are under test, not the transfer)."""
    settings.HANDOVER_PAYMENT_PROVIDER = request.param
    monkeypatch.setattr(ManualProvider, "start", TestProvider.start)
    return request.param


@pytest.mark.parametrize("path", PATHS)
def test_each_refund_is_one_provider_refund_posted_out_at_once(
    path, provider, buyer, seller, support
):
    build, refunded = PATHS[path]
    order = build({"buyer": buyer, "seller": seller, "support": support})

    order.refresh_from_db()
    assert order.refunded == refunded
    refunds = list(ProviderRefund.objects.filter(order=order))
    assert [(r.provider, r.state, r.amount) for r in refunds] == (
        [(provider, RefundState.SUCCEEDED, refunded)] if refunded else []
    )
    out = Entry.objects.filter(
        transaction__order=order, transaction__kind=TransactionKind.REFUND, amount__gt=0
    )
    assert [(e.transaction.reference, e.amount) for e in out] == [
        (r.reference, r.amount) for r in refunds
    ]
    refunding = Account.objects.filter(name=f"refunding:order:{order.pk}").first()
    assert refunding is None or refunding.balance == 0
    sent = Event.objects.filter(order=order, type=EventType.REFUND_SENT)
    assert [(e.actor_role, e.payload["amount"]) for e in sent] == [
        (Actor.PROVIDER, r.amount) for r in refunds
    ]
    assert_ledger_invariants()
