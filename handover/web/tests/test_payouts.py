"""The payouts page with Stripe: the linked account's state in plain words, the schedule, and
"Pay out now", asked twice; a refused request changes nothing.

localstripe lacks Connect, so accounts, account links and transfers are answered by the test
boundary server with Stripe's documented shapes (``testing.stripe_connect``)."""

import re

import pytest
from django.db import transaction
from django.utils import timezone

from handover.billing.models import PayoutInterval, PayoutSchedule
from handover.ledger.models import AccountKind, LedgerTransaction, TransactionKind
from handover.ledger.services import account_for, ledger_payout
from handover.testing.payout_steps import boundary_fresh, cleared_order, linked_account
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balance
from handover.testing.stripe_connect import transfers
from handover.web.tests.helpers import page_messages


@pytest.fixture
def order(stripe_account, time_machine, buyer, seller, support):
    """A cleared order of the seller (80.00 EUR available), Stripe set up, boundary fresh."""
    boundary_fresh(stripe_account)
    time_machine.move_to(timezone.now(), tick=False)
    return cleared_order(time_machine, buyer=buyer, seller=seller, support=support)


def text(response) -> str:
    return response.content.decode()


def test_a_ready_seller_pays_out_after_confirming(client, seller, order, stripe_account):
    account = linked_account(seller)
    client.force_login(seller)
    page = text(client.get("/balance/payout/"))
    assert "Ready" in page and "Pay out 80.00 EUR" in page and "No payouts yet." in page

    asked = client.post("/balance/payout/", {"currency": "EUR"})

    assert asked.status_code == 200 and "Pay out 80.00 EUR?" in text(asked)
    assert account.stripe_account_id in text(asked)
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT).exists()
    assert not transfers(stripe_account.boundary)

    done = client.post("/balance/payout/", {"currency": "EUR", "confirm": "yes"}, follow=True)

    [transfer] = transfers(stripe_account.boundary)
    assert (transfer["amount"], transfer["transfer_group"]) == (8000, f"order-{order.pk}")
    assert page_messages(done) == ["Payout sent to your Stripe account: 1 transfer, one per order."]
    html = text(done)
    assert transfer["id"] in html and f'href="/orders/{order.pk}/"' in html
    assert "80.00 EUR" in html and "Nothing is available to pay out yet." in html
    assert balance(f"seller:{seller.pk}:available") == 0


@pytest.mark.parametrize("currency", ["", "XXX", "USD", "eur", "EUR' OR 1=1"])
def test_pay_out_now_in_a_currency_without_funds_is_refused(
    client, seller, order, stripe_account, currency
):
    linked_account(seller)
    client.force_login(seller)
    before = db_snapshot()

    response = client.post("/balance/payout/", {"currency": currency, "confirm": "yes"})

    assert response.status_code == 422
    assert "Choose a currency you have available funds in." in text(response)
    assert db_snapshot() == before
    assert not transfers(stripe_account.boundary)


def test_without_a_linked_account_the_page_says_the_balance_waits(client, seller, order):
    client.force_login(seller)
    page = text(client.get("/balance/payout/"))
    assert "Not linked" in page and "Your balance waits here until you link" in page
    assert "Link a Stripe account first" in page and "Pay out 80.00 EUR" not in page
    balance_page = text(client.get("/balance/"))
    assert "Your balance waits here until you" in balance_page and ">Payouts</a>" in balance_page
    before = db_snapshot()

    done = client.post("/balance/payout/", {"currency": "EUR", "confirm": "yes"}, follow=True)

    assert any("link a Stripe account" in m for m in page_messages(done))
    assert db_snapshot() == before


def test_the_seller_picks_a_schedule(client, seller, stripe_account):
    client.force_login(seller)
    done = client.post(
        "/balance/payout/", {"action": "schedule", "interval": "weekly"}, follow=True
    )
    assert page_messages(done) == ["Payout schedule saved: every week."]
    assert PayoutSchedule.objects.get(user=seller).interval == PayoutInterval.WEEKLY
    assert re.search(r'<input[^>]*value="weekly"[^>]*checked', text(done))


@pytest.mark.parametrize("interval", ["", "hourly", "daily'--"])
def test_a_bad_schedule_is_refused_beside_the_field(client, seller, stripe_account, interval):
    client.force_login(seller)
    before = db_snapshot()

    response = client.post("/balance/payout/", {"action": "schedule", "interval": interval})

    assert response.status_code == 422
    errors = re.search(r'<ul class="errorlist" id="id_interval_error">(.*?)</ul>', text(response))
    assert errors and ("required" in errors[1] or "valid choice" in errors[1])
    assert db_snapshot() == before
    assert not PayoutSchedule.objects.exists()


def test_the_return_page_without_an_account_goes_back_to_the_payout_page(
    client, seller, stripe_account
):
    client.force_login(seller)
    for url in ("/balance/payout/return/", "/balance/payout/refresh/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/balance/payout/"


def test_with_the_test_provider_the_payout_page_stays_as_it_was(client, seller):
    client.force_login(seller)
    page = text(client.get("/balance/payout/"))
    assert "Request a payout" in page and "Stripe" not in page
    assert "Stripe" not in text(client.get("/balance/"))
    assert client.post("/balance/payout/link/")["Location"] == "/balance/payout/"


def test_payouts_made_are_listed_a_page_at_a_time(client, seller, order, stripe_account):
    linked_account(seller)
    available = account_for(kind=AccountKind.SELLER_AVAILABLE, owner=seller, currency="EUR")
    with transaction.atomic():
        for n in range(26):  # a cent each, as the provider reports them
            ledger_payout(user=seller, available=available, amount=1, reference=f"tr_page{n:02}")
    client.force_login(seller)

    first, second = (text(client.get(f"/balance/payout/?page={n}")) for n in (1, 2))

    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    listed = [re.findall(r"tr_page\d\d", page) for page in (first, second)]
    assert listed == [[f"tr_page{n:02}" for n in range(25, 0, -1)], ["tr_page00"]]
    assert 'href="?page=2" rel="next"' in first and 'href="?page=1" rel="prev"' in second
