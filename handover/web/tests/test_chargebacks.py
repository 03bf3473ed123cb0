"""Chargebacks on the web: support records one the bank reported (a provider that does not
report its own), the seller adds a note for the bank, support records the bank's decision.
The same service functions as Stripe's events (``billing.chargebacks``)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from handover.billing.chargebacks import chargeback_record, seller_note_of
from handover.billing.models import ProviderDispute
from handover.billing.payouts import payout_request
from handover.delivery.models import DeliveryFile
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balances
from handover.trust.selectors import user_record
from handover.web.tests.helpers import field_errors

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(response) -> str:
    assert response.status_code in (200, 422), response.status_code
    return response.content.decode()


@pytest.fixture
def held(buyer, seller, support) -> tuple[Order, int]:
    """A completed order, its original downloaded by the buyer, then support records the
    chargeback the bank reported."""
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    file_id = DeliveryFile.objects.get(delivery__order=order).pk
    assert signed_in(buyer).get(f"/files/{file_id}/original/").status_code == 200
    desk = signed_in(support)
    url = f"/support/orders/{order.pk}/chargeback/"
    data = {"reference": "CB-2031-77", "text": "The bank's letter of 3 March."}
    assert "Record a chargeback of" in page(desk.post(url, data))
    desk.post(url, {**data, "confirm": "yes"})
    order.refresh_from_db()
    return order, file_id


def test_support_records_a_chargeback_and_the_order_goes_on_hold(held, buyer, seller):
    order, file_id = held
    assert order.state == State.CHARGEBACK_HOLD
    row = ProviderDispute.objects.get(order=order)
    assert (row.dispute_id, row.provider, row.amount) == ("CB-2031-77", "test", order.total)
    assert balances(order.pk, seller)["pending"] == 0
    refused = signed_in(buyer).get(f"/files/{file_id}/original/", follow=True)
    assert "originals are locked while the bank decides" in page(refused)
    seller_page = page(signed_in(seller).get(f"/orders/{order.pk}/"))
    assert "bank took the payment back" in seller_page
    assert "Add a note for the bank" in seller_page
    assert "bank decides the chargeback" in seller_page


def test_the_sellers_note_is_kept_for_the_bank_and_shown_to_support(held, seller, support):
    order, _file_id = held
    url = f"/orders/{order.pk}/chargeback-note/"
    before = db_snapshot()
    empty = signed_in(seller).post(url, {"text": "   "})
    assert empty.status_code == 422
    assert field_errors(empty, "text")
    assert db_snapshot() == before

    signed_in(seller).post(url, {"text": "They printed the logo on 500 mugs."})
    assert seller_note_of(ProviderDispute.objects.get(order=order)) == (
        "They printed the logo on 500 mugs."
    )
    desk_page = page(signed_in(support).get(f"/support/orders/{order.pk}/"))
    assert "They printed the logo on 500 mugs." in desk_page
    assert "CB-2031-77" in desk_page
    assert "Send the bank the evidence bundle" in desk_page


def test_only_the_seller_adds_a_note(held, buyer):
    order, _file_id = held
    response = signed_in(buyer).post(f"/orders/{order.pk}/chargeback-note/", {"text": "Mine."})
    assert response.status_code == 302
    assert seller_note_of(ProviderDispute.objects.get(order=order)) == ""


def test_support_records_a_won_chargeback_and_the_originals_unlock(held, buyer, seller, support):
    order, file_id = held
    desk = signed_in(support)
    url = f"/support/orders/{order.pk}/chargeback-won/"
    asked = page(desk.post(url, {"text": "The bank decided for the seller."}))
    assert "returns to completed" in asked
    desk.post(url, {"text": "The bank decided for the seller.", "confirm": "yes"})
    order.refresh_from_db()
    assert order.state == State.COMPLETED
    assert ProviderDispute.objects.get(order=order).outcome == "won"
    assert balances(order.pk, seller)["pending"] > 0
    assert signed_in(buyer).get(f"/files/{file_id}/original/").status_code == 200


def test_support_records_a_lost_chargeback_and_the_buyers_record_counts_it(held, buyer, support):
    order, file_id = held
    desk = signed_in(support)
    url = f"/support/orders/{order.pk}/chargeback-lost/"
    desk.post(url, {"text": "The bank decided for the buyer.", "confirm": "yes"})
    order.refresh_from_db()
    assert order.state == State.CHARGED_BACK
    assert ProviderDispute.objects.get(order=order).outcome == "lost"
    assert user_record(buyer).as_buyer.charged_back == 1
    refused = signed_in(buyer).get(f"/files/{file_id}/original/", follow=True)
    assert "charged back, so access to its originals ended" in page(refused)


def test_a_seller_paid_out_before_a_chargeback_sees_the_balance_below_zero(
    buyer, seller, support, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    share = balances(order.pk, seller)["pending"]
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    timers_run_due()
    payout_request(user=seller, currency=order.currency, amount=share)
    chargeback_record(order_id=order.pk, user=support, reference="CB-9", text="The bank.")

    html = page(signed_in(seller).get("/balance/"))
    assert "Below zero: a chargeback took back earnings" in html
    assert "Taken back: the buyer&#x27;s bank took the payment back" in html
