"""Support's failed refunds through the API: the list and the retry, as on the support desk's
page (``/support/refunds/``), for support agents only. Failed refunds are made as in
``test_refunds.py``: the Stripe boundary refuses the refund a decline asks for."""

import pytest

from handover.billing.tests.test_refunds import refunding, stripe_paid_order, stripe_refunds
from handover.evidence.models import Event, EventType
from handover.orders import services
from handover.payments.models import ProviderRefund, RefundState
from handover.testing.steps import ok, refused
from handover.testing.stripe_refunds import REFUSED, refund_keys, refunds_answer

pytestmark = pytest.mark.django_db


def _declined(stripe_account, buyer, seller, support, *answers: str) -> ProviderRefund:
    """The refund of a declined order, Stripe answering it with ``answers`` (none: sent)."""
    refunds_answer(stripe_account.boundary, *answers)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)
    return ProviderRefund.objects.get(order=order)


def _unchanged(refund: ProviderRefund, stripe_account, keys: int) -> None:
    """The refund as it was: no new attempt, nothing asked of Stripe, nothing recorded."""
    before = (refund.state, refund.attempts, refund.attempt_key)
    refund.refresh_from_db()
    assert (refund.state, refund.attempts, refund.attempt_key) == before
    assert len(refund_keys(stripe_account.boundary)) == keys
    assert not Event.objects.filter(order=refund.order, type=EventType.REFUND_RETRIED).exists()


def test_support_lists_and_retries_a_failed_refund(
    stripe_account, buyer, seller, support, support_api
):
    refund = _declined(stripe_account, buyer, seller, support, REFUSED)
    assert refund.state == RefundState.FAILED

    listed = ok(support_api.get("/support/refunds"))
    assert listed["count"] == 1
    [item] = listed["items"]
    assert item["id"] == refund.pk and item["order_id"] == refund.order_id
    assert (item["buyer"], item["amount"], item["currency"]) == (
        buyer.username,
        refund.amount,
        refund.currency,
    )
    assert (item["state"], item["attempts"]) == ("failed", 1)
    assert item["failure"] == "This charge has been disputed and cannot be refunded."

    url = f"/support/refunds/{refund.pk}/retry"
    answer = ok(support_api.post(url, {"text": "Stripe closed the dispute."}, key="retry-1"))

    assert (answer["id"], answer["state"], answer["attempts"]) == (refund.pk, "succeeded", 2)
    assert answer["reference"].startswith("re_") and answer["failure"] == ""
    refund.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED
    assert refunding(refund.order) == 0
    assert stripe_refunds(refund.order) == [(refund.reference, refund.amount)]
    retried = Event.objects.get(order=refund.order, type=EventType.REFUND_RETRIED)
    assert (retried.actor_id, retried.payload["text"]) == (support.pk, "Stripe closed the dispute.")
    assert ok(support_api.get("/support/refunds"))["count"] == 0
    # The same request again (a lost answer): the stored answer, no second attempt.
    keys = len(refund_keys(stripe_account.boundary))
    again = support_api.post(url, {"text": "Stripe closed the dispute."}, key="retry-1")
    assert ok(again) == answer
    refund.refresh_from_db()
    assert refund.attempts == 2 and len(refund_keys(stripe_account.boundary)) == keys


def test_a_member_is_refused_and_nothing_changes(
    stripe_account, buyer, seller, support, buyer_api, seller_api
):
    refund = _declined(stripe_account, buyer, seller, support, REFUSED)
    keys = len(refund_keys(stripe_account.boundary))

    for member in (buyer_api, seller_api):
        refused(member.get("/support/refunds"), 403, "forbidden")
        retry = member.post(f"/support/refunds/{refund.pk}/retry", {"text": "Send it."})
        refused(retry, 403, "forbidden")

    _unchanged(refund, stripe_account, keys)
    assert refunding(refund.order) == refund.amount


def test_a_refund_that_has_not_failed_is_not_retried(
    stripe_account, buyer, seller, support, support_api
):
    refund = _declined(stripe_account, buyer, seller, support)
    assert refund.state == RefundState.SUCCEEDED
    keys = len(refund_keys(stripe_account.boundary))

    retry = support_api.post(f"/support/refunds/{refund.pk}/retry", {"text": "Again."})

    refused(retry, 409, "refund_not_failed")
    _unchanged(refund, stripe_account, keys)
    refused(support_api.post("/support/refunds/999999/retry", {"text": "Again."}), 404, "not_found")


def test_a_retry_without_text_is_refused_and_nothing_changes(
    stripe_account, buyer, seller, support, support_api
):
    refund = _declined(stripe_account, buyer, seller, support, REFUSED)
    keys = len(refund_keys(stripe_account.boundary))
    url = f"/support/refunds/{refund.pk}/retry"

    missing = refused(support_api.post(url, {}), 422, "validation_error")
    assert missing["errors"][0]["loc"][-1] == "text"
    refused(support_api.post(url, {"text": "  "}), 400, "invalid")

    _unchanged(refund, stripe_account, keys)
