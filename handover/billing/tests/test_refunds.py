"""Refunds through Stripe, against localstripe: every refund the ledger makes is a Stripe
Refund of exactly its amount, posted out of the order's refunding account when Stripe confirms
it, once; a failed one shows on the support desk and is retried from there.

localstripe makes every Refund ``succeeded`` on the spot. Stripe's ``pending`` and ``failed``
refunds, and a refusal, are answered at the HTTP boundary by ``testing.stripe_refunds`` (only
these tests arm it), with the shapes of Stripe's API reference, because localstripe lacks them.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handover.billing.refunds import refund_retry
from handover.delivery.previewing import preview_make
from handover.delivery.services import order_deliver
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide, dispute_open
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, Entry, LedgerTransaction, TransactionKind
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import State
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.stripe_client import stripe_amount, stripe_client
from handover.testing.factories import _PNG, make_offer
from handover.testing.stripe import paid_intent
from handover.testing.stripe_refunds import FAILED, PENDING, REFUSED, refund_keys, refunds_answer

pytestmark = pytest.mark.django_db


def stripe_paid_order(buyer, seller, support, *, requires_acceptance: bool = False) -> Order:
    """An order the buyer paid by card through Stripe (localstripe), the money in escrow.

    The pay-in (a PaymentIntent from the app, confirmed by Stripe.js, applied on its webhook)
    is built elsewhere; until then this pays the order's PaymentIntent with the SDK and records
    the payment as support confirms one. The one place to switch to the pay-in path.
    """
    offer = make_offer(seller, requires_acceptance=requires_acceptance)
    answers = [f"Answer to {question}" for question in offer.requirements]
    order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=answers)
    assert order.payment_provider == "stripe"
    intent = paid_intent(stripe_amount(order.total, order.currency), order.currency, order.pk)
    services.order_confirm_payment(order_id=order.pk, user=support, reference=intent)
    return Order.objects.get(pk=order.pk)


def stripe_refunds(order: Order) -> list[tuple[str, int]]:
    """The Refunds Stripe holds for the order's payment, oldest first: (id, amount)."""
    listed = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_reference})
    return sorted(((r.id, r.amount) for r in listed.data), key=lambda r: r[0])


def refunds_posted(order: Order) -> list[tuple[str, int]]:
    """The ledger's ``refund`` postings of the order: (the provider's id, amount to the world)."""
    entries = Entry.objects.filter(
        transaction__order=order, transaction__kind=TransactionKind.REFUND, amount__gt=0
    )
    return [(e.transaction.reference, e.amount) for e in entries.select_related("transaction")]


def refunding(order: Order) -> int:
    account = Account.objects.filter(name=f"refunding:order:{order.pk}").first()
    return account.balance if account else 0


def record_types(order: Order) -> list[str]:
    refund_types = (EventType.REFUND_SENT, EventType.REFUND_FAILED, EventType.REFUND_RETRIED)
    events = Event.objects.filter(order=order, type__in=refund_types).order_by("id")
    return list(events.values_list("type", flat=True))


def assert_refunded_at_stripe(order: Order, *amounts: int) -> None:
    """Stripe holds exactly these Refunds, each posted out under its id, once."""
    at_stripe = stripe_refunds(order)
    assert sorted(amount for _, amount in at_stripe) == sorted(amounts)
    assert sorted(refunds_posted(order)) == at_stripe
    assert all(reference.startswith("re_") for reference, _ in at_stripe)
    assert refunding(order) == 0
    assert_ledger_invariants()


def _deliver(order: Order, seller) -> None:
    work = SimpleUploadedFile("work.png", _PNG)
    delivery = order_deliver(order_id=order.pk, user=seller, text="Done", files=[work])
    for file_id in delivery.files.values_list("pk", flat=True):
        preview_make(file_id=file_id)


def _decide(order: Order, support, outcome: str, refund: int | None = None) -> None:
    dispute = Dispute.objects.get(order=order, decided_at__isnull=True)
    dispute_decide(
        dispute_id=dispute.pk, user=support, outcome=outcome, refund=refund, text="Read it all."
    )


# --- each refund path makes one Stripe Refund of exactly its amount ----------------------------


def test_a_declined_order_is_refunded_in_full_at_stripe(stripe_account, buyer, seller, support):
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)

    order.refresh_from_db()
    assert (order.state, order.refunded) == (State.CANCELLED, order.total)
    assert_refunded_at_stripe(order, order.total)
    [refund] = ProviderRefund.objects.filter(order=order)
    assert (refund.provider, refund.state, refund.amount) == ("stripe", "succeeded", order.total)
    assert refund.confirmed_at is not None
    assert record_types(order) == [EventType.REFUND_SENT]
    # What the app sent Stripe: the amount, the PaymentIntent, the order, an idempotency key.
    [(_, _, form)] = [
        r
        for r in stripe_account.boundary.requests
        if r[0] == "POST" and r[2].get("payment_intent") == [order.payment_reference]
    ]
    assert form["amount"] == [str(order.total)]
    assert form["metadata[handover_order]"] == [str(order.pk)]
    assert refund.key in refund_keys(stripe_account.boundary)
    assert refund.key.endswith("-settlement")
    # The transition says which refund it sent.
    transition = Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION).latest("id")
    assert transition.payload["refund_reference"] == refund.reference


def test_an_accepted_cancellation_is_refunded_in_part(stripe_account, buyer, seller, support):
    order = stripe_paid_order(buyer, seller, support)
    cancellation.order_request_cancellation(
        order_id=order.pk, user=buyer, text="Plans changed.", refund=3000
    )
    cancellation.order_accept_cancellation(order_id=order.pk, user=seller)

    order.refresh_from_db()
    assert (order.state, order.refunded) == (State.CANCELLED, 3000)
    assert_refunded_at_stripe(order, 3000)


def test_a_split_decision_refunds_the_buyers_part(stripe_account, buyer, seller, support):
    order = stripe_paid_order(buyer, seller, support)
    dispute_open(order_id=order.pk, user=buyer, text="Half of it is missing.")
    _decide(order, support, "split", 5275)

    order.refresh_from_db()
    assert (order.state, order.refunded) == (State.COMPLETED, 5275)
    assert_refunded_at_stripe(order, 5275)


def test_a_refund_raised_after_settlement_is_a_refund_of_the_difference(
    stripe_account, buyer, seller, support
):
    order = stripe_paid_order(buyer, seller, support)
    _deliver(order, seller)
    services.order_accept(order_id=order.pk, user=buyer)
    assert stripe_refunds(order) == []  # settled at no refund: nothing sent
    dispute_open(order_id=order.pk, user=buyer, text="The files are corrupt.")
    _decide(order, support, "split", 4000)

    order.refresh_from_db()
    assert order.refunded == 4000
    assert_refunded_at_stripe(order, 4000)
    [refund] = ProviderRefund.objects.filter(order=order)
    assert refund.key.endswith("-raise-to-4000")
    adjustment = LedgerTransaction.objects.get(order=order, kind=TransactionKind.ADJUSTMENT)
    assert {e.account.kind: e.amount for e in adjustment.entries.all()}["refunding"] == 4000


# --- confirmed later, or failed ---------------------------------------------------------------


def _refund_event(stripe_account, event_type: str, refund_id: str, **changes):
    refund = {**stripe_account.boundary.objects[refund_id], **changes}
    return stripe_account.signed(stripe_account.event(event_type, refund))


def failed_count(home: str) -> str:
    """The support home's count of failed refunds."""
    found = re.search(
        r'count__number">(\d+)</span>\s*<span class="count__label">failed refund', home
    )
    assert found is not None
    return found.group(1)


def _buyer_page(client, buyer, order: Order) -> str:
    client.force_login(buyer)
    return client.get(f"/orders/{order.pk}/").content.decode()


def test_a_pending_refund_is_posted_once_when_stripe_confirms_it(
    stripe_account, client, buyer, seller, support
):
    refunds_answer(stripe_account.boundary, PENDING)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)

    order.refresh_from_db()
    [refund] = ProviderRefund.objects.filter(order=order)
    assert (order.state, refund.state) == (State.CANCELLED, RefundState.PENDING)
    assert refund.reference.startswith("re_")
    assert refunding(order) == order.total  # out of escrow, not yet out through Stripe
    assert refunds_posted(order) == []
    assert record_types(order) == []
    assert_ledger_invariants()
    assert "On its way to you" in _buyer_page(client, buyer, order)

    confirmed = _refund_event(
        stripe_account, "refund.updated", refund.reference, status="succeeded"
    )
    answer = stripe_account.deliver(client, confirmed)
    assert answer.status_code == 200, answer.content
    assert answer.json()["result"] == "applied"
    assert stripe_account.deliver(client, confirmed).json()["result"] == "replayed"
    # Stripe tells of the same refund again in another event: applied, nothing posted twice.
    again = _refund_event(
        stripe_account, "charge.refund.updated", refund.reference, status="succeeded"
    )
    assert stripe_account.deliver(client, again).json()["result"] == "applied"

    refund.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED
    assert refunds_posted(order) == [(refund.reference, order.total)]
    assert refunding(order) == 0
    assert record_types(order) == [EventType.REFUND_SENT]
    assert_ledger_invariants()
    assert "Sent" in _buyer_page(client, buyer, order)


def test_a_refund_that_fails_later_waits_for_support(
    stripe_account, client, buyer, seller, support
):
    refunds_answer(stripe_account.boundary, PENDING)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)
    [refund] = ProviderRefund.objects.filter(order=order)

    failed = _refund_event(
        stripe_account,
        "refund.failed",
        refund.reference,
        status="failed",
        failure_reason="expired_or_canceled_card",
    )
    assert stripe_account.deliver(client, failed).json()["result"] == "applied"

    refund.refresh_from_db()
    assert refund.state == RefundState.FAILED
    assert "expired or canceled card" in refund.failure
    assert refunding(order) == order.total
    assert record_types(order) == [EventType.REFUND_FAILED]
    assert "Delayed: support is on it" in _buyer_page(client, buyer, order)
    assert_ledger_invariants()

    refund_retry(refund_id=refund.pk, user=support, text="The buyer gave a new card.")
    refund.refresh_from_db()
    assert refund.state == RefundState.SUCCEEDED  # localstripe sent the retry at once
    assert refund.attempt_key == f"{refund.key}-retry-2"  # a new key: the old one replays
    assert_refunded_at_stripe(order, order.total)
    assert record_types(order) == [
        EventType.REFUND_FAILED,
        EventType.REFUND_RETRIED,
        EventType.REFUND_SENT,
    ]


def test_a_refund_stripe_refuses_stands_as_failed_and_support_retries_it(
    stripe_account, client, buyer, seller, support
):
    refunds_answer(stripe_account.boundary, REFUSED)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)

    order.refresh_from_db()
    assert order.state == State.CANCELLED  # the move stands; the money waits in refunding
    [refund] = ProviderRefund.objects.filter(order=order)
    assert (refund.state, refund.reference) == (RefundState.FAILED, "")
    assert refund.failure == "This charge has been disputed and cannot be refunded."
    assert refunding(order) == order.total
    assert stripe_refunds(order) == []
    failed = Event.objects.get(order=order, type=EventType.REFUND_FAILED)
    assert failed.payload["failure"] == refund.failure
    assert_ledger_invariants()

    client.force_login(support)
    assert failed_count(client.get("/support/").content.decode()) == "1"
    listed = client.get("/support/refunds/").content.decode()
    assert f"Order #{order.pk}" in listed and refund.failure in listed
    retry_url = f"/support/refunds/{refund.pk}/retry/"
    assert client.get(retry_url).status_code == 200

    # No rationale: the error beside the field, nothing sent.
    empty = client.post(retry_url, {"text": ""})
    assert empty.status_code == 422
    assert "This field is required" in empty.content.decode()
    # The rationale: asked to confirm, nothing sent yet.
    asked = client.post(retry_url, {"text": "Stripe closed the dispute."})
    assert asked.status_code == 200
    assert "Yes, retry the refund" in asked.content.decode()
    refund.refresh_from_db()
    assert (refund.state, refund.attempts) == (RefundState.FAILED, 1)
    assert stripe_refunds(order) == []

    done = client.post(retry_url, {"text": "Stripe closed the dispute.", "confirm": "yes"})
    assert done.status_code == 302
    refund.refresh_from_db()
    assert (refund.state, refund.attempts) == (RefundState.SUCCEEDED, 2)
    assert_refunded_at_stripe(order, order.total)
    keys = refund_keys(stripe_account.boundary)
    assert keys[-2:] == [refund.key, f"{refund.key}-retry-2"]
    retried = Event.objects.get(order=order, type=EventType.REFUND_RETRIED)
    assert (retried.actor_id, retried.payload["text"]) == (support.pk, "Stripe closed the dispute.")
    assert failed_count(client.get("/support/").content.decode()) == "0"
    # Nothing left to retry.
    assert client.post(retry_url, {"text": "Again.", "confirm": "yes"}).status_code == 409


def test_only_support_retries_a_refund(stripe_account, client, buyer, seller, support):
    refunds_answer(stripe_account.boundary, FAILED)
    order = stripe_paid_order(buyer, seller, support, requires_acceptance=True)
    services.order_decline_order(order_id=order.pk, user=seller)
    [refund] = ProviderRefund.objects.filter(order=order)
    assert refund.state == RefundState.FAILED  # Stripe made it, and it failed
    assert refund.reference.startswith("re_")

    client.force_login(buyer)
    url = f"/support/refunds/{refund.pk}/retry/"
    assert client.post(url, {"text": "Me.", "confirm": "yes"}).status_code == 403
    assert client.get("/support/refunds/").status_code == 403
    refund.refresh_from_db()
    assert (refund.state, refund.attempts) == (RefundState.FAILED, 1)


def test_an_event_about_a_refund_handover_did_not_make_changes_nothing(stripe_account, client):
    stranger = {"id": "re_elsewhere", "object": "refund", "status": "succeeded", "metadata": {}}
    delivery = stripe_account.signed(stripe_account.event("refund.updated", stranger))
    assert stripe_account.deliver(client, delivery).json()["result"] == "applied"
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.REFUND).exists()
