"""Three-decimal currencies (KWD, BHD, ...) move only in whole tens of their minor units, as
card networks and Stripe settle them: every amount an order computes is such a multiple, and
an amount typed off that step is refused (422 ``amount_step``) before anything changes."""

from datetime import timedelta

from django.utils import timezone

from handover.ledger.models import Entry, LedgerTransaction
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.testing.factories import make_offer, offer_body
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import decide, deliver, ok, open_dispute, paid_order, refused


def kwd_order(buyer_api, seller) -> Order:
    offer = make_offer(seller, price=12340, currency="KWD")
    return Order.objects.get(pk=paid_order(buyer_api, offer))


def test_an_offer_priced_off_the_step_is_refused(seller_api):
    before = db_snapshot()

    body = refused(
        seller_api.post("/offers", offer_body(price=12345, currency="KWD")), 422, "amount_step"
    )

    assert body["detail"] == "KWD amounts move in steps of 0.010 KWD; 12.345 KWD is not one."
    assert db_snapshot() == before
    ok(seller_api.post("/offers", offer_body(price=1500, currency="JPY")), 201)


def test_a_kwd_order_s_fees_and_total_are_whole_steps(buyer_api, seller):
    order = kwd_order(buyer_api, seller)

    # 5.5 % of 12.340 is 0.6787: 0.680, not 0.679; the seller fee 20 % is 2.468: 2.470.
    assert (order.price, order.buyer_fee, order.seller_fee, order.total) == (
        12340,
        680,
        2470,
        13020,
    )


def test_a_cancellation_refund_off_the_step_is_refused_and_a_stepped_one_splits_in_steps(
    buyer_api, seller_api, seller
):
    order = kwd_order(buyer_api, seller)
    before = db_snapshot()

    refused(
        buyer_api.act(order.pk, "request-cancellation", {"text": "Plans changed", "refund": 5005}),
        422,
        "amount_step",
    )

    assert db_snapshot() == before
    ok(buyer_api.act(order.pk, "request-cancellation", {"text": "Plans changed", "refund": 5000}))
    ok(seller_api.act(order.pk, "accept-cancellation"))
    legs = Entry.objects.filter(transaction__order_id=order.pk, transaction__kind="settlement")
    amounts = sorted(legs.values_list("amount", flat=True))
    assert amounts == [-13020, 1940, 5000, 6080]
    assert all(amount % 10 == 0 for amount in amounts)


def test_a_split_decision_off_the_step_is_refused(buyer_api, support_api, seller):
    order = kwd_order(buyer_api, seller)
    dispute_id = open_dispute(buyer_api, order.pk)
    before = db_snapshot()

    refused(decide(support_api, dispute_id, "split", refund=6511), 422, "amount_step")

    assert db_snapshot() == before
    ok(decide(support_api, dispute_id, "split", refund=6510))


def test_a_payout_off_the_step_is_refused(buyer_api, seller_api, seller, settings, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    order = kwd_order(buyer_api, seller)
    deliver(seller_api, order.pk)
    ok(buyer_api.act(order.pk, "accept"))
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due()["cleared"] == 1
    before = db_snapshot()

    refused(seller_api.post("/payouts", {"amount": 9865, "currency": "KWD"}), 422, "amount_step")

    assert db_snapshot() == before
    ok(seller_api.post("/payouts", {"amount": 9870, "currency": "KWD"}), 201)
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1
