"""A refund that fails after it succeeded: Stripe documents that a refund may go from
``succeeded`` to ``failed`` (the buyer's card account was closed) and the money comes back to
the platform's balance. Handover takes it back into the order's refunding account once
(``refund_returned``, the exact reverse of the ``refund`` posting, same reference), marks the
refund failed for support, who sends it again; ``reconcile`` then agrees with Stripe.

localstripe cannot fail a refund after it succeeded: the Stripe boundary holds such a refund as
failed (``testing.stripe_refunds.refund_fails``) and answers it, by id and in the lists, as
Stripe then does; the webhooks are made from it and signed as Stripe signs them.
"""

import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from handover.billing.reconcile import Problem, reconcile
from handover.billing.tests.test_refunds import (
    _buyer_page,
    failed_count,
    record_types,
    refunding,
    refunds_posted,
    stripe_paid_order,
)
from handover.disputes.rules import event_summary
from handover.evidence.models import Event, EventType
from handover.ledger.models import Entry, LedgerTransaction, TransactionKind
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.lib.money import format_amount
from handover.notifications.models import Notification
from handover.orders import services
from handover.orders.models import Order
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.stripe_client import stripe_client
from handover.testing.payout_steps import boundary_fresh
from handover.testing.steps import ok
from handover.testing.stripe_refunds import PENDING, refund_fails, refunds_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def since(stripe_account):
    """This test's window at a localstripe and a boundary emptied for it: what reconcile
    lists is this test's (as in ``test_reconcile``)."""
    empty = urllib.request.Request(
        f"{stripe_account.localstripe_url}/_config/data", method="DELETE"
    )
    urllib.request.urlopen(empty, timeout=10).close()
    boundary_fresh(stripe_account)
    return timezone.now().replace(microsecond=0) - timedelta(seconds=1)


def _delivered(stripe_account, client, event_type: str, refund: dict) -> str:
    delivery = stripe_account.signed(stripe_account.event(event_type, refund))
    return ok(stripe_account.deliver(client, delivery))["result"]


def _legs(txn: LedgerTransaction) -> list[tuple[str, int]]:
    entries = Entry.objects.filter(transaction=txn).select_related("account")
    return sorted((e.account.name, e.amount) for e in entries)


def _returned(order: Order) -> list[LedgerTransaction]:
    return list(LedgerTransaction.objects.filter(order=order, kind=TransactionKind.REFUND_RETURNED))


def _declined_and_refunded(stripe_account, buyer, seller, support) -> tuple[Order, ProviderRefund]:
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)
    [refund] = ProviderRefund.objects.filter(order=order)
    assert refund.state == RefundState.SUCCEEDED  # localstripe sent it at once
    return order, refund


def _no_differences(since) -> None:
    assert [d.line() for d in reconcile(since=since).differences] == []


def test_a_refund_that_fails_after_it_succeeded_is_taken_back_once_and_sent_again(
    stripe_account, since, client, buyer, seller, support, support_api
):
    order, refund = _declined_and_refunded(stripe_account, buyer, seller, support)
    sent = stripe_client().v1.refunds.retrieve(refund.reference).to_dict()
    [posted] = LedgerTransaction.objects.filter(order=order, kind=TransactionKind.REFUND)
    _no_differences(since)

    failed = refund_fails(stripe_account.boundary, sent)
    # Until Stripe's word arrives, the ledger says the buyer was paid back: reconcile lists it.
    [difference] = reconcile(since=since).differences
    assert (difference.problem, difference.reference) == (Problem.STATUS, refund.reference)
    shown = format_amount(refund.amount, refund.currency)
    assert difference.line().endswith(f"ledger {shown} (succeeded), provider {shown} (failed)")
    delivery = stripe_account.signed(stripe_account.event("refund.failed", failed))
    assert ok(stripe_account.deliver(client, delivery))["result"] == "applied"

    # The ledger: the exact reverse of the refund, under its reference; the money waits.
    [back] = _returned(order)
    assert back.reference == refund.reference
    assert _legs(back) == sorted((name, -amount) for name, amount in _legs(posted))
    assert refunding(order) == order.total
    assert_ledger_invariants()
    # The refund: failed, with Stripe's reason, for support.
    refund.refresh_from_db()
    assert (refund.state, refund.failure_code) == (RefundState.FAILED, "expired_or_canceled_card")
    assert "expired or canceled card" in refund.failure
    event = Event.objects.get(order=order, type=EventType.REFUND_FAILED)
    assert event.payload["returned"] is True
    assert event.payload["reference"] == refund.reference
    told = Notification.objects.get(recipient=support, event=event)
    assert "came back to the platform" in told.body
    assert "expired or canceled card" in told.body
    # Where the buyer's refund is, and what the order's record says.
    page = _buyer_page(client, buyer, order)
    assert "Delayed: support is on it" in page
    assert "came back from the buyer&#x27;s bank" in page
    summary = event_summary(event.type, event.actor_role, event.payload, currency=order.currency)
    assert (
        summary
        == "Provider: the refund to the buyer was sent, then came back from the buyer's bank"
    )
    client.force_login(support)
    assert failed_count(client.get("/support/").content.decode()) == "1"
    listed = client.get("/support/refunds/").content.decode()
    assert f"Order #{order.pk}" in listed and "expired or canceled card" in listed
    [item] = ok(support_api.get("/support/refunds"))["items"]
    assert (item["id"], item["state"]) == (refund.pk, "failed")
    # Stripe holds a failed refund; the ledger a refund and its return: both nothing.
    _no_differences(since)

    # The same news again, in the same event or another, and a late word of the success
    # before the failure: nothing more.
    assert ok(stripe_account.deliver(client, delivery))["result"] == "replayed"
    for event_type in ("charge.refund.updated", "refund.updated"):
        assert _delivered(stripe_account, client, event_type, failed) == "applied"
    assert _delivered(stripe_account, client, "refund.updated", sent) == "applied"
    refund.refresh_from_db()
    assert refund.state == RefundState.FAILED
    assert len(_returned(order)) == 1
    assert refunds_posted(order) == [(refund.reference, order.total)]
    assert record_types(order) == [EventType.REFUND_SENT, EventType.REFUND_FAILED]
    assert refunding(order) == order.total
    assert_ledger_invariants()

    # Support sends it again: a new Refund under a fresh key, posted when Stripe confirms it.
    retry_url = f"/support/refunds/{refund.pk}/retry/"
    done = client.post(retry_url, {"text": "The buyer gave a new card.", "confirm": "yes"})
    assert done.status_code == 302
    first = refund.reference
    refund.refresh_from_db()
    assert (refund.state, refund.attempts) == (RefundState.SUCCEEDED, 2)
    assert refund.attempt_key == f"{refund.key}-retry-2"
    assert refund.reference.startswith("re_") and refund.reference != first
    assert refunds_posted(order) == [(first, order.total), (refund.reference, order.total)]
    assert refunding(order) == 0
    assert record_types(order) == [
        EventType.REFUND_SENT,
        EventType.REFUND_FAILED,
        EventType.REFUND_RETRIED,
        EventType.REFUND_SENT,
    ]
    assert "Sent" in _buyer_page(client, buyer, order)
    assert_ledger_invariants()
    _no_differences(since)

    # The first refund's news, late, is of an earlier attempt: nothing changes.
    assert _delivered(stripe_account, client, "refund.updated", failed) == "applied"
    assert _delivered(stripe_account, client, "refund.updated", sent) == "applied"
    refund.refresh_from_db()
    assert (refund.state, refund.attempts) == (RefundState.SUCCEEDED, 2)
    assert len(_returned(order)) == 1
    assert len(refunds_posted(order)) == 2
    assert_ledger_invariants()


def test_a_late_success_after_the_failure_posts_nothing(
    stripe_account, since, client, buyer, seller, support
):
    """A pending refund whose failure overtakes the words of it pending and succeeding:
    Stripe's ``failed`` is final, so they are old news and the refund waits for support."""
    refunds_answer(stripe_account.boundary, PENDING)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)
    [refund] = ProviderRefund.objects.filter(order=order)
    pending = dict(stripe_account.boundary.objects[refund.reference])
    succeeded = {**pending, "status": "succeeded"}
    failed = refund_fails(stripe_account.boundary, succeeded)

    assert _delivered(stripe_account, client, "refund.failed", failed) == "applied"
    assert _delivered(stripe_account, client, "refund.updated", pending) == "applied"
    assert _delivered(stripe_account, client, "refund.updated", succeeded) == "applied"
    assert _delivered(stripe_account, client, "charge.refund.updated", failed) == "applied"

    refund.refresh_from_db()
    assert refund.state == RefundState.FAILED
    assert refunds_posted(order) == [] and _returned(order) == []
    assert refunding(order) == order.total
    event = Event.objects.get(order=order, type=EventType.REFUND_FAILED)
    assert "returned" not in event.payload  # it never went out
    assert_ledger_invariants()
    _no_differences(since)
