"""The seller's balance and payouts: only cleared (available) money leaves, to the world."""

from datetime import timedelta

import pytest
from django.utils import timezone

from handover.evidence.models import Event
from handover.ledger.models import Entry, LedgerTransaction
from handover.ops.timers import timers_run_due
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import SELLER_SHARE, balance, deliver, ok, paid_order, refused


def completed(buyer_api, seller_api, offer) -> int:
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    ok(buyer_api.act(order_id, "accept"))
    return order_id


@pytest.fixture
def cleared(offer, buyer_api, seller_api, settings, time_machine) -> int:
    """The seller has SELLER_SHARE available from one cleared order."""
    time_machine.move_to(timezone.now(), tick=False)
    order_id = completed(buyer_api, seller_api, offer)
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due()["cleared"] == 1
    return order_id


def test_a_new_user_has_an_empty_balance_in_the_default_currency(seller_api):
    assert ok(seller_api.get("/balance")) == {
        "currency": "EUR",
        "pending": 0,
        "available": 0,
        "balances": [],
    }


def test_earnings_are_pending_until_cleared_then_available(
    offer, buyer_api, seller_api, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    completed(buyer_api, seller_api, offer)
    assert ok(seller_api.get("/balance"))["pending"] == SELLER_SHARE
    assert ok(seller_api.get("/balance"))["available"] == 0

    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    timers_run_due()

    assert ok(seller_api.get("/balance")) == {
        "currency": "EUR",
        "pending": 0,
        "available": SELLER_SHARE,
        "balances": [{"currency": "EUR", "pending": 0, "available": SELLER_SHARE}],
    }
    assert ok(buyer_api.get("/balance"))["available"] == 0


def test_balances_are_kept_per_currency(seller, buyer_api, seller_api):
    completed(buyer_api, seller_api, make_offer(seller, currency="EUR", price=10000))
    completed(buyer_api, seller_api, make_offer(seller, currency="JPY", price=5000))

    both = ok(seller_api.get("/balance"))
    yen = ok(seller_api.get("/balance", currency="JPY"))

    assert (both["currency"], both["pending"]) == ("EUR", SELLER_SHARE)
    assert both["balances"] == [
        {"currency": "EUR", "pending": SELLER_SHARE, "available": 0},
        {"currency": "JPY", "pending": 4000, "available": 0},
    ]
    assert (yen["currency"], yen["pending"]) == ("JPY", 4000)


def test_a_payout_moves_available_funds_to_the_world(cleared, seller, seller_api):
    world_before = balance("world")

    r = seller_api.post("/payouts", {"amount": 3000})

    body = ok(r, 201)
    assert (body["amount"], body["currency"]) == (3000, "EUR")
    assert (body["balance"]["pending"], body["balance"]["available"]) == (0, SELLER_SHARE - 3000)
    assert balance(f"seller:{seller.pk}:available") == SELLER_SHARE - 3000
    assert balance("world") == world_before + 3000
    txn = LedgerTransaction.objects.get(pk=body["id"])
    # A payout names the order its funds were earned on (one per order; see billing.payouts).
    assert (txn.kind, txn.order_id, txn.currency) == ("payout", cleared, "EUR")
    legs = {e.account.name: e.amount for e in Entry.objects.filter(transaction=txn)}
    assert legs == {f"seller:{seller.pk}:available": -3000, "world": 3000}
    event = Event.objects.get(type="ledger.payout")
    assert (event.actor_id, event.actor_role) == (seller.pk, "seller")
    assert event.payload["amount"] == 3000 and event.payload["transaction_id"] == txn.pk
    assert event.payload["order_id"] == cleared and body["references"] == [txn.reference]
    assert event.payload["reference"]


def test_paying_out_everything_empties_available_and_then_nothing_more_goes(cleared, seller_api):
    ok(seller_api.post("/payouts", {"amount": SELLER_SHARE}), 201)
    before = db_snapshot()

    refused(seller_api.post("/payouts", {"amount": 1}), 409, "insufficient_funds")

    assert db_snapshot() == before
    assert ok(seller_api.get("/balance"))["available"] == 0


def test_a_payout_above_the_available_balance_is_409_and_changes_nothing(cleared, seller_api):
    before = db_snapshot()

    r = seller_api.post("/payouts", {"amount": SELLER_SHARE + 1})

    refused(r, 409, "insufficient_funds")
    assert db_snapshot() == before
    assert not LedgerTransaction.objects.filter(kind="payout").exists()
    assert not Event.objects.filter(type="ledger.payout").exists()


def test_pending_funds_cannot_be_paid_out(offer, buyer_api, seller_api):
    completed(buyer_api, seller_api, offer)
    before = db_snapshot()

    refused(seller_api.post("/payouts", {"amount": 1}), 409, "insufficient_funds")

    assert db_snapshot() == before


def test_a_payout_in_a_currency_without_funds_is_409_and_creates_no_account(cleared, seller_api):
    before = db_snapshot()

    r = seller_api.post("/payouts", {"amount": 100, "currency": "USD"})

    refused(r, 409, "insufficient_funds")
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"amount": 0}, 400, "invalid"),
        ({"amount": -100}, 400, "invalid"),
        ({"amount": 10**13}, 400, "invalid"),
        ({"amount": 100, "currency": "XXX"}, 400, "invalid"),
        ({"amount": 100.0}, 422, "validation_error"),
        ({"amount": "100"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_a_bad_payout_request_is_refused_and_changes_nothing(
    cleared, seller_api, body, status, error
):
    before = db_snapshot()

    refused(seller_api.post("/payouts", body), status, error)

    assert db_snapshot() == before


def test_a_retried_payout_pays_once(cleared, seller, seller_api):
    first = seller_api.post("/payouts", {"amount": 1000}, key="payout-1")
    second = seller_api.post("/payouts", {"amount": 1000}, key="payout-1")

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert LedgerTransaction.objects.filter(kind="payout").count() == 1
    assert balance(f"seller:{seller.pk}:available") == SELLER_SHARE - 1000
