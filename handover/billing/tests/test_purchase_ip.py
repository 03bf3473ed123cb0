"""Handover's answer to the bank names the address the buyer paid from (Stripe's
``customer_purchase_ip``), read from the record's sealed values; none when the record holds
none. The submission itself is pinned in ``test_chargebacks``."""

import pytest

from handover.billing.evidence import evidence_fields
from handover.billing.models import ProviderDispute
from handover.evidence.models import EventType, SealedValues
from handover.orders import services
from handover.orders.tests.test_pay_address import paid_from
from handover.testing.steps import place

pytestmark = pytest.mark.django_db


def answer(order_id: int) -> dict[str, str]:
    return evidence_fields(ProviderDispute(order_id=order_id, dispute_id="dp_purchase_ip"))


@pytest.fixture
def transfer(settings, buyer_api, offer) -> int:
    """An order the buyer asked to pay twice, from two addresses, then support confirmed."""
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order_id = place(buyer_api, offer)["id"]
    paid_from(buyer_api, order_id, "198.51.100.23")
    paid_from(buyer_api, order_id, "2001:db8::7")
    return order_id


def test_the_bank_is_sent_the_address_of_the_start_that_was_paid(transfer, support):
    services.order_confirm_payment(order_id=transfer, user=support, reference="BANK-7")
    assert answer(transfer)["customer_purchase_ip"] == "2001:db8::7"


def test_an_erased_address_is_not_sent_nor_an_earlier_one(transfer, support):
    services.order_confirm_payment(order_id=transfer, user=support, reference="BANK-7")
    latest = SealedValues.objects.filter(event__order_id=transfer).order_by("-event_id").first()
    assert latest is not None and latest.event.type == EventType.PAYMENT_STARTED
    latest.delete()  # a retention period erased it
    assert "customer_purchase_ip" not in answer(transfer)


def test_an_order_paid_before_addresses_were_recorded_sends_none(buyer, buyer_api, offer):
    order_id = place(buyer_api, offer)["id"]
    services.order_pay(order_id=order_id, user=buyer)
    fields = answer(order_id)
    assert "customer_purchase_ip" not in fields
    assert fields["customer_email_address"] == buyer.email  # the rest is sent as before
