"""Card payments against localstripe: the pay answer, the signed webhooks localstripe sends,
and the worker's check for a webhook that never came."""

from datetime import timedelta

import pytest
import stripe
import time_machine
from django.conf import settings
from django.utils import timezone

from handover.billing.models import WebhookEvent
from handover.billing.payins import payins_check
from handover.evidence.models import EventType
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.notifications.models import Notification
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.orders.rules import State
from handover.payments.stripe_client import stripe_client
from handover.settings import stripe_csp
from handover.testing.factories import make_offer
from handover.testing.steps import TOTAL, balance, ok, place, refused, transitions
from handover.testing.stripe import DECLINED_CARD, buyer_confirms, free_port

pytestmark = pytest.mark.django_db


def timer_ran_out(*, expect: int) -> None:
    """The payment window runs out: the worker's timer sweep, an hour later. (The clock moves
    for this step only: webhooks are signed with the real time, and checked against it.)"""
    later = timezone.now() + settings.HANDOVER_PAYMENT_WINDOW + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert timers_run_due()["fired"] == expect


def pay(buyer_api, order_id: int) -> dict:
    return ok(buyer_api.act(order_id, "pay"))


def paid_through_stripe(stripe_account, client, buyer_api, offer) -> tuple[int, dict]:
    """An order placed, paid with the good card, its success webhook delivered."""
    order_id = place(buyer_api, offer)["id"]
    answer = pay(buyer_api, order_id)
    buyer_confirms(answer["payment_reference"])
    delivery = stripe_account.webhooks.wait_for(
        "payment_intent.succeeded", answer["payment_reference"]
    )
    assert ok(stripe_account.deliver(client, delivery))["result"] == "applied"
    return order_id, answer


def test_pay_answers_the_client_secret_and_the_publishable_key_and_records_no_secret(
    stripe_account, buyer_api, offer
):
    order_id = place(buyer_api, offer)["id"]
    answer = pay(buyer_api, order_id)
    intent_id = answer["payment_reference"]
    assert intent_id.startswith("pi_")
    assert answer["client_secret"].startswith(intent_id + "_secret_")
    assert answer["publishable_key"] == "pk_test_handover"
    assert answer["state"] == State.PENDING_PAYMENT
    intent = stripe_client().v1.payment_intents.retrieve(intent_id)
    assert (intent.amount, intent.currency) == (TOTAL, "eur")
    assert intent.metadata["handover_order"] == str(order_id)
    order = Order.objects.get(pk=order_id)
    assert all(answer["client_secret"] not in str(e.payload) for e in order.events.all())
    # Asking again shows the same PaymentIntent: never a second one for one order.
    again = pay(buyer_api, order_id)
    assert again["payment_reference"] == intent_id
    assert again["client_secret"] == answer["client_secret"]
    # Other readers of the order never see the secret.
    assert ok(buyer_api.get(f"/orders/{order_id}"))["client_secret"] == ""


def test_the_success_webhook_starts_the_order_and_the_capture_carries_the_payment_intent(
    stripe_account, client, buyer_api, offer
):
    order_id, answer = paid_through_stripe(stripe_account, client, buyer_api, offer)
    order = Order.objects.get(pk=order_id)
    assert order.state == State.IN_PROGRESS
    assert order.paid_at is not None and order.due_at is not None
    assert transitions(order_id) == [("pay", "pending_payment", "in_progress")]
    capture = LedgerTransaction.objects.get(order_id=order_id, kind=TransactionKind.CAPTURE)
    assert capture.reference == answer["payment_reference"]
    assert balance(f"escrow:order:{order_id}") == TOTAL
    paid = order.events.get(type=EventType.ORDER_TRANSITION)
    assert paid.actor_role == "provider" and paid.payload["reference"] == capture.reference


def test_an_offer_that_asks_for_acceptance_waits_for_the_seller_once_paid(
    stripe_account, client, buyer_api, seller
):
    offer = make_offer(seller, requires_acceptance=True)
    order_id, _ = paid_through_stripe(stripe_account, client, buyer_api, offer)
    assert Order.objects.get(pk=order_id).state == State.AWAITING_ACCEPTANCE


def test_a_declined_card_leaves_the_order_awaiting_payment_and_tells_the_buyer(
    stripe_account, client, buyer_api, buyer, offer
):
    order_id = place(buyer_api, offer)["id"]
    intent_id = pay(buyer_api, order_id)["payment_reference"]
    with pytest.raises(stripe.CardError):
        buyer_confirms(intent_id, DECLINED_CARD)
    delivery = stripe_account.webhooks.wait_for("payment_intent.payment_failed", intent_id)
    assert ok(stripe_account.deliver(client, delivery))["result"] == "applied"
    order = Order.objects.get(pk=order_id)
    assert order.state == State.PENDING_PAYMENT and order.paid_at is None
    failed = order.events.get(type=EventType.PAYMENT_FAILED)
    assert failed.payload["reference"] == intent_id
    assert "declined" in failed.payload["reason"].lower()
    told = Notification.objects.get(recipient=buyer, event=failed)
    assert "did not go through" in told.subject
    assert not LedgerTransaction.objects.filter(order_id=order_id).exists()
    # The page says why, beside the pay button.
    client.force_login(buyer)
    page = client.get(f"/orders/{order_id}/").content.decode()
    assert failed.payload["reason"] in page
    # Paying again offers the same PaymentIntent, for another card (localstripe cannot take a
    # second card on a PaymentIntent whose charge failed, so the retry stops here).
    assert pay(buyer_api, order_id)["payment_reference"] == intent_id


def test_a_lost_webhook_is_recovered_by_the_worker_check(stripe_account, buyer_api, offer):
    order_id = place(buyer_api, offer)["id"]
    intent_id = pay(buyer_api, order_id)["payment_reference"]
    buyer_confirms(intent_id)  # its webhook never reaches the app
    assert payins_check() == {"started": 0}  # too soon: the webhook may still come
    later = timezone.now() + settings.HANDOVER_STRIPE_CHECK_AFTER + timedelta(seconds=1)
    assert payins_check(now=later) == {"started": 1}
    order = Order.objects.get(pk=order_id)
    assert order.state == State.IN_PROGRESS and order.payment_reference == intent_id
    assert LedgerTransaction.objects.get(order_id=order_id).reference == intent_id
    assert payins_check(now=later) == {"started": 0}


def test_a_replayed_webhook_is_applied_once(stripe_account, client, buyer_api, offer):
    order_id, answer = paid_through_stripe(stripe_account, client, buyer_api, offer)
    delivery = stripe_account.webhooks.wait_for(
        "payment_intent.succeeded", answer["payment_reference"]
    )
    assert ok(stripe_account.deliver(client, delivery))["result"] == "replayed"
    # The same news in a new event (Stripe retrying with another id) changes nothing either.
    again = stripe_account.signed(
        stripe_account.event("payment_intent.succeeded", delivery.event["data"]["object"])
    )
    assert ok(stripe_account.deliver(client, again))["result"] == "applied"
    assert LedgerTransaction.objects.filter(order_id=order_id).count() == 1
    assert transitions(order_id) == [("pay", "pending_payment", "in_progress")]
    assert WebhookEvent.objects.count() == 2


def test_a_failure_arriving_after_the_success_changes_nothing(
    stripe_account, client, buyer_api, offer
):
    order_id, answer = paid_through_stripe(stripe_account, client, buyer_api, offer)
    stale = stripe_account.event(
        "payment_intent.payment_failed",
        {
            "id": answer["payment_reference"],
            "object": "payment_intent",
            "amount": TOTAL,
            "currency": "eur",
            "status": "requires_payment_method",
            "metadata": {"handover_order": str(order_id)},
            "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        },
    )
    assert ok(stripe_account.deliver(client, stripe_account.signed(stale)))["result"] == "applied"
    order = Order.objects.get(pk=order_id)
    assert order.state == State.IN_PROGRESS
    assert not order.events.filter(type=EventType.PAYMENT_FAILED).exists()


def test_a_success_for_an_order_abandoned_meanwhile_gives_the_money_back(
    stripe_account, client, buyer_api, buyer, offer
):
    order_id = place(buyer_api, offer)["id"]
    pay(buyer_api, order_id)
    # The payment window ran out while the buyer's bank was still answering: the timer found
    # nothing paid yet and abandoned the order.
    timer_ran_out(expect=1)
    assert Order.objects.get(pk=order_id).state == State.CANCELLED
    # localstripe cannot confirm a cancelled PaymentIntent, so the success that raced the
    # cancellation is Stripe's event about a PaymentIntent paid just before it: a fresh one
    # for the same order, which the order is then made to hold.
    intent = stripe_client().v1.payment_intents.create(
        params={"amount": TOTAL, "currency": "eur", "metadata": {"handover_order": str(order_id)}}
    )
    buyer_confirms(intent.id)
    Order.objects.filter(pk=order_id).update(payment_reference=intent.id)
    delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", intent.id)
    assert ok(stripe_account.deliver(client, delivery))["result"] == "applied"
    order = Order.objects.get(pk=order_id)
    assert order.state == State.CANCELLED and order.paid_at is None
    returned = order.events.get(type=EventType.PAYMENT_RETURNED)
    [refund] = stripe_client().v1.refunds.list(params={"payment_intent": intent.id}).data
    assert refund.amount == TOTAL and refund.status == "succeeded"
    assert returned.payload["refund_reference"] == refund.id
    assert Notification.objects.filter(recipient=buyer, event=returned).exists()
    assert not LedgerTransaction.objects.filter(order_id=order_id).exists()
    # Stripe's retry of the same news refunds nothing twice.
    again = stripe_account.signed(
        stripe_account.event("payment_intent.succeeded", delivery.event["data"]["object"])
    )
    stripe_account.deliver(client, again)
    assert len(stripe_client().v1.refunds.list(params={"payment_intent": intent.id}).data) == 1
    assert order.events.filter(type=EventType.PAYMENT_RETURNED).count() == 1


def test_the_payment_window_cancels_an_unpaid_payment_intent_and_spares_a_paid_one(
    stripe_account, buyer_api, offer
):
    later = timezone.now() + settings.HANDOVER_PAYMENT_WINDOW + timedelta(seconds=1)
    unpaid = place(buyer_api, offer)["id"]
    unpaid_intent = pay(buyer_api, unpaid)["payment_reference"]
    paid = place(buyer_api, offer)["id"]
    paid_intent = pay(buyer_api, paid)["payment_reference"]
    buyer_confirms(paid_intent)  # its webhook has not come yet
    timer_ran_out(expect=1)
    assert Order.objects.get(pk=unpaid).state == State.CANCELLED
    intents = stripe_client().v1.payment_intents
    assert intents.retrieve(unpaid_intent).status == "canceled"
    assert Order.objects.get(pk=paid).state == State.PENDING_PAYMENT
    assert intents.retrieve(paid_intent).status == "succeeded"
    # The buyer cannot abandon it either: the money is there.
    refused(buyer_api.act(paid, "abandon"), 409, "transition_not_allowed")
    assert payins_check(now=later) == {"started": 1}
    assert Order.objects.get(pk=paid).state == State.IN_PROGRESS


def test_a_payment_intent_that_is_not_handovers_is_acknowledged_and_ignored(
    stripe_account, client, buyer_api, offer
):
    order_id = place(buyer_api, offer)["id"]
    pay(buyer_api, order_id)
    stranger = stripe_client().v1.payment_intents.create(
        params={"amount": TOTAL, "currency": "eur", "metadata": {"handover_order": str(order_id)}}
    )
    buyer_confirms(stranger.id)
    delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", stranger.id)
    assert ok(stripe_account.deliver(client, delivery))["received"] is True
    assert Order.objects.get(pk=order_id).state == State.PENDING_PAYMENT


def test_a_payment_intent_cancelled_at_stripe_is_told_and_paying_again_makes_a_new_one(
    stripe_account, client, buyer_api, buyer, offer
):
    order_id = place(buyer_api, offer)["id"]
    intent_id = pay(buyer_api, order_id)["payment_reference"]
    cancelled = stripe_client().v1.payment_intents.cancel(intent_id)
    event = stripe_account.event("payment_intent.canceled", cancelled.to_dict())
    ok(stripe_account.deliver(client, stripe_account.signed(event)))
    order = Order.objects.get(pk=order_id)
    assert order.state == State.PENDING_PAYMENT
    assert "cancelled" in order.events.get(type=EventType.PAYMENT_FAILED).payload["reason"]
    fresh = pay(buyer_api, order_id)["payment_reference"]
    assert fresh != intent_id
    buyer_confirms(fresh)
    stripe_account.deliver(
        client, stripe_account.webhooks.wait_for("payment_intent.succeeded", fresh)
    )
    assert Order.objects.get(pk=order_id).state == State.IN_PROGRESS


def test_the_pay_page_loads_stripe_js_from_the_api_base_and_the_policy_allows_it(
    stripe_account, client, buyer_api, buyer, offer, settings
):
    settings.SECURE_CSP = stripe_csp(settings.SECURE_CSP, stripe_account.url)
    order_id = place(buyer_api, offer)["id"]
    client.force_login(buyer)
    page = client.post(f"/orders/{order_id}/pay/")
    assert page.status_code == 200
    html = page.content.decode()
    intent = stripe_client().v1.payment_intents.retrieve(
        Order.objects.get(pk=order_id).payment_reference
    )
    assert f'data-client-secret="{intent.client_secret}"' in html
    assert 'data-publishable-key="pk_test_handover"' in html
    assert f'src="{stripe_account.url}/js.stripe.com/v3/"' in html
    policy = page["Content-Security-Policy"]
    assert f"script-src 'self' {stripe_account.url}" in policy
    assert f"connect-src 'self' {stripe_account.url}" in policy
    assert "sk_test" not in html
    # Once the card is confirmed the order page says so and refreshes until Stripe's word.
    paying = client.get(f"/orders/{order_id}/?paying=1").content.decode()
    assert "being confirmed" in paying and 'hx-trigger="every 3s"' in paying
    assert "by card</button>" not in paying
    poll = client.get(f"/orders/{order_id}/?paying=1", headers={"HX-Request": "true"})
    assert poll.status_code == 204  # nothing yet
    intent_id = Order.objects.get(pk=order_id).payment_reference
    buyer_confirms(intent_id)
    stripe_account.deliver(
        client, stripe_account.webhooks.wait_for("payment_intent.succeeded", intent_id)
    )
    poll = client.get(f"/orders/{order_id}/?paying=1", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and poll["HX-Refresh"] == "true"
    assert "being confirmed" not in client.get(f"/orders/{order_id}/?paying=1").content.decode()


def test_the_policy_names_stripes_own_addresses_without_a_test_server():
    policy = stripe_csp({"script-src": ["'self'"]}, "")
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert "https://hooks.stripe.com" in policy["frame-src"]


def test_pay_answers_503_and_changes_nothing_when_stripe_does_not_answer(
    stripe_account, buyer_api, offer, settings
):
    order_id = place(buyer_api, offer)["id"]
    settings.HANDOVER_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens
    refused(buyer_api.act(order_id, "pay"), 503, "provider_unavailable")
    order = Order.objects.get(pk=order_id)
    assert order.payment_reference == "" and order.state == State.PENDING_PAYMENT
    assert not order.events.filter(type=EventType.PAYMENT_STARTED).exists()


def test_the_payment_window_keeps_the_order_while_stripe_does_not_answer(
    stripe_account, buyer_api, offer, settings
):
    order_id = place(buyer_api, offer)["id"]
    intent_id = pay(buyer_api, order_id)["payment_reference"]
    settings.HANDOVER_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens
    timer_ran_out(expect=0)  # skipped (not raised: the sweep goes on to other orders)
    refused(buyer_api.act(order_id, "abandon"), 503, "provider_unavailable")
    assert Order.objects.get(pk=order_id).state == State.PENDING_PAYMENT
    settings.HANDOVER_STRIPE_API_BASE = stripe_account.url
    timer_ran_out(expect=1)
    assert Order.objects.get(pk=order_id).state == State.CANCELLED
    assert stripe_client().v1.payment_intents.retrieve(intent_id).status == "canceled"
