"""The balance page and payouts: a seller sees their own funds and movements only, and a
payout asks first, then runs ``POST /payouts``'s service; a refused one changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from handover.evidence.models import Event, EventType
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.ops.timers import timers_run_due
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balance, delivered_order, ok
from handover.web.tests.helpers import field_errors, page_messages
from handover.web.views import money


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def cleared(offer, seller, buyer_api, seller_api, settings, time_machine) -> int:
    """The seller earned 80.00 EUR on a completed order, cleared and available; its id."""
    time_machine.move_to(timezone.now(), tick=False)
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due()["cleared"] == 1
    return order_id


def test_the_balance_needs_a_login(client):
    for url in ("/balance/", "/balance/payout/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_seller_sees_their_own_funds_and_movements_only(
    client, seller, stranger, buyer_api, seller_api, stranger_api
):
    mine, _ = delivered_order(buyer_api, seller_api, make_offer(seller))
    ok(buyer_api.act(mine, "accept"))
    theirs, _ = delivered_order(buyer_api, stranger_api, make_offer(stranger, price=50000))
    ok(buyer_api.act(theirs, "accept"))
    client.force_login(seller)

    html = page(client.get("/balance/"))

    assert "80.00 EUR" in html  # pending, as GET /balance says
    assert ok(seller_api.get("/balance"))["pending"] == 8000
    assert f'href="/orders/{mine}/"' in html and "Earned on an order" in html
    assert f'href="/orders/{theirs}/"' not in html and "400.00 EUR" not in html


def test_movements_are_newest_first_and_paginated(client, seller, cleared, monkeypatch):
    monkeypatch.setattr(money, "MOVEMENTS_PER_PAGE", 2)
    client.force_login(seller)
    first = page(client.get("/balance/"))
    assert "Cleared from pending" in first and "Cleared to available" in first
    assert "Earned on an order" not in first and "Page 1 of 2" in first
    second = page(client.get("/balance/?page=2"))
    assert "Earned on an order" in second


def test_a_new_member_sees_empty_funds(client, stranger):
    client.force_login(stranger)
    html = page(client.get("/balance/"))
    assert "0.00 EUR" in html and "No money has moved yet." in html


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("12.345", "EUR amounts have at most 2 decimals."),
        ("lots", "Write the amount in digits, like 120.50."),
        ("0", "The amount must be more than zero."),
    ],
)
def test_a_bad_payout_amount_is_refused_beside_the_field(client, seller, cleared, amount, error):
    client.force_login(seller)
    before = db_snapshot()
    response = client.post(
        "/balance/payout/", {"amount": amount, "currency": "EUR", "confirm": "yes"}
    )
    assert response.status_code == 422
    assert field_errors(response, "amount") == [error]
    assert db_snapshot() == before


def test_the_payout_asks_first_and_changes_nothing_until_confirmed(client, seller, cleared):
    client.force_login(seller)
    before = db_snapshot()
    response = client.post("/balance/payout/", {"amount": "50", "currency": "EUR"})
    html = page(response)
    assert response.status_code == 200
    assert "Pay out 50.00 EUR?" in html and "80.00 EUR" in html
    assert 'name="amount" value="50.00"' in html
    assert db_snapshot() == before


def test_a_confirmed_payout_runs_the_payout_service(client, seller, cleared):
    client.force_login(seller)
    data = {"amount": "50.00", "currency": "EUR", "confirm": "yes"}
    response = client.post("/balance/payout/", data, follow=True)
    assert "Payout sent." in " ".join(page_messages(response))
    assert balance(f"seller:{seller.pk}:available") == 3000
    payout = LedgerTransaction.objects.get(kind=TransactionKind.PAYOUT)
    assert sorted(payout.entries.values_list("amount", flat=True)) == [-5000, 5000]
    event = Event.objects.get(type=EventType.PAYOUT_MADE)
    assert event.actor == seller and event.payload["amount"] == 5000
    assert "Paid out" in page(response) and "30.00 EUR" in page(response)


def test_a_payout_above_the_available_funds_shows_the_services_refusal(client, seller, cleared):
    client.force_login(seller)
    before = db_snapshot()
    data = {"amount": "80.01", "currency": "EUR", "confirm": "yes"}
    response = client.post("/balance/payout/", data)
    assert response.status_code == 422
    assert field_errors(response, "amount") == ["Only 8000 is available for payout."]
    assert db_snapshot() == before
