"""``StripeProvider.refund`` when Stripe cannot make the refund: a ``failed`` result with the
reason, never an exception that would undo the order's move."""

from types import SimpleNamespace

import pytest

from handover.payments.models import ProviderRefund, RefundState
from handover.payments.providers import StripeProvider
from handover.payments.services import retry_key
from handover.testing.stripe import free_port


@pytest.fixture
def stripe_unreachable(settings):
    settings.HANDOVER_STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.HANDOVER_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens


def test_stripe_not_answering_is_a_failed_refund_retried_under_the_same_key(stripe_unreachable):
    order = SimpleNamespace(pk=7, payment_reference="pi_x", currency="EUR")
    result = StripeProvider().refund(order=order, amount=500, key="handover-refund-7")
    assert (result.state, result.reference) == (RefundState.FAILED, "")
    assert (result.failure, result.failure_code) == ("Stripe did not answer.", "connection")


def test_an_amount_stripe_cannot_charge_is_a_failed_refund(stripe_unreachable):
    order = SimpleNamespace(pk=7, payment_reference="pi_x", currency="KWD")
    result = StripeProvider().refund(order=order, amount=1005, key="handover-refund-7")
    assert (result.state, result.failure_code) == (RefundState.FAILED, "bad_amount")
    assert "steps of 10" in result.failure


def test_a_retry_keeps_the_key_only_when_stripe_never_answered():
    refund = ProviderRefund(key="k", attempt_key="k", attempts=1, failure_code="connection")
    assert retry_key(refund) == "k"  # the first request may have made it: same key, one refund
    refund.failure_code = "charge_disputed"
    assert retry_key(refund) == "k-retry-2"  # Stripe answered: the same key would replay that
