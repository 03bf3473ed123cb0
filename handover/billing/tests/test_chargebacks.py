"""Chargebacks from Stripe, end to end: the order paid through localstripe, the originals
downloaded, ``charge.dispute.created`` -> hold (money taken back, originals locked), the
evidence answered from the record, ``charge.dispute.closed`` won or lost.

localstripe has no disputes and no file uploads: those are tested at the HTTP boundary
(``testing.stripe_disputes``), against Stripe's documented request and response shapes; the
payment itself is a real PaymentIntent confirmed at localstripe.
"""

import io
from datetime import timedelta

import pypdfium2  # type: ignore[import-untyped]
import pytest
from django.test import Client
from django.utils import timezone

from handover.billing.evidence import evidence_submit_due
from handover.billing.models import ProviderDispute
from handover.billing.payouts import payout_request
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.ops.timers import timers_run_due
from handover.orders import services
from handover.orders.models import Order
from handover.orders.rules import State
from handover.orders.tests.test_pay_address import paid_from
from handover.testing.factories import make_offer
from handover.testing.steps import (
    balances,
    deliver,
    download,
    downloaded_bytes,
    ledger_kinds,
    ok,
    place,
    refused,
    transitions,
)
from handover.testing.stripe import paid_intent
from handover.testing.stripe_disputes import (
    dispute_close,
    dispute_create,
    dispute_delivery,
    uploads,
)

pytestmark = pytest.mark.django_db

PRICE = 10_000
PAYER_ADDRESS = "198.51.100.23"  # the buyer pays from here, downloads from 127.0.0.1


def paid_through_stripe(settings, buyer_api, seller, support) -> tuple[int, str]:
    """An order whose payment is a PaymentIntent confirmed at localstripe, captured into
    escrow through the orders service's provider path with the PaymentIntent as reference
    (the stripe provider's own pay-in, and its webhook, are tested with it)."""
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order_id = place(buyer_api, make_offer(seller, price=PRICE))["id"]
    paid_from(buyer_api, order_id, PAYER_ADDRESS)
    order = Order.objects.get(pk=order_id)
    intent = paid_intent(order.total, order.currency)
    services.order_confirm_payment(order_id=order_id, user=support, reference=intent)
    settings.HANDOVER_PAYMENT_PROVIDER = "stripe"
    return order_id, intent


def accepted_and_downloaded(settings, buyer_api, seller_api, seller, support):
    order_id, intent = paid_through_stripe(settings, buyer_api, seller, support)
    file_id = deliver(seller_api, order_id)["files"][0]["id"]
    ok(buyer_api.act(order_id, "accept"))
    original = downloaded_bytes(download(buyer_api, file_id))
    return order_id, intent, file_id, len(original)


def applied(stripe_account, client, event_type: str, dispute) -> str:
    response = stripe_account.deliver(client, dispute_delivery(stripe_account, event_type, dispute))
    assert response.status_code == 200, response.content
    return response.json()["result"]


def _requests(stripe_account, method: str, prefix: str):
    return [
        r for r in stripe_account.boundary.requests if r[0] == method and r[1].startswith(prefix)
    ]


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    return "".join(page.get_textpage().get_text_range() for page in document)


@pytest.fixture
def story(stripe_account, settings, client, buyer_api, seller_api, seller, support):
    """An accepted order whose originals the buyer downloaded, then disputed at the bank."""
    order_id, intent, file_id, size = accepted_and_downloaded(
        settings, buyer_api, seller_api, seller, support
    )
    assert balances(order_id, seller)["pending"] > 0
    dispute = dispute_create(stripe_account, intent)
    assert applied(stripe_account, client, "charge.dispute.created", dispute) == "applied"
    with stripe_account.boundary.lock:  # the boundary serves the whole run: this test's only
        stripe_account.boundary.requests.clear()
    return order_id, file_id, size, dispute


def test_a_dispute_holds_the_order_takes_the_money_back_and_locks_the_originals(
    story, stripe_account, buyer_api, seller, seller_api
):
    order_id, file_id, _size, dispute = story
    order = Order.objects.get(pk=order_id)
    assert order.state == State.CHARGEBACK_HOLD
    assert order.chargeback_return_state == State.COMPLETED
    refused(download(buyer_api, file_id), 403, "originals_locked")
    assert balances(order_id, seller) == {
        "world": 0,
        "escrow": 0,
        "pending": 0,
        "available": 0,
        "fees": 0,
        "losses": 0,
    }
    assert ledger_kinds(order_id) == ["capture", "settlement", "chargeback"]
    row = ProviderDispute.objects.get(dispute_id=dispute["id"])
    assert (row.order_id, row.amount, row.held_at is not None) == (order_id, order.total, True)
    assert row.due_by is not None and row.submitted_at is None
    page = ok(seller_api.get(f"/orders/{order_id}"))
    assert page["state"] == "chargeback_hold"
    assert_ledger_invariants()


def test_the_evidence_is_submitted_once_with_the_download_log_and_the_record_pdf(
    story, stripe_account, buyer, seller_api
):
    order_id, _file_id, size, dispute = story
    row = ProviderDispute.objects.get(dispute_id=dispute["id"])
    assert evidence_submit_due(now=timezone.now()) == 0  # not before the cut-off
    assert row.due_by is not None
    cut_off = row.due_by - timedelta(days=2)
    ok(seller_api.post(f"/orders/{order_id}/chargeback-note", {"text": "Logo used on their site."}))

    assert evidence_submit_due(now=cut_off + timedelta(seconds=1)) == 1
    assert evidence_submit_due(now=cut_off + timedelta(hours=1)) == 0

    [(_, _, _)] = _requests(stripe_account, "POST", "/v1/files")
    [(_, path, form)] = _requests(stripe_account, "POST", "/v1/disputes/")
    assert path == f"/v1/disputes/{dispute['id']}"
    assert form["submit"] == ["true"]
    log = form["evidence[access_activity_log]"][0]
    assert f"the buyer {buyer.username} downloaded the original" in log
    assert "127.0.0.1" in log and f"{size} bytes" in log
    assert form["evidence[customer_email_address]"] == [buyer.email]
    assert form["evidence[customer_purchase_ip]"] == [PAYER_ADDRESS]
    assert PAYER_ADDRESS not in log
    assert "Logo used on their site." in form["evidence[uncategorized_text]"][0]
    assert "the buyer accepted the delivery" in form["evidence[uncategorized_text]"][0]
    assert "terms (version 1" in form["evidence[refund_policy_disclosure]"][0]
    file_id = form["evidence[uncategorized_file]"][0]
    pdf = uploads(stripe_account.boundary)[file_id]
    assert f"Evidence of order #{order_id}" in _pdf_text(pdf)
    sent = stripe_account.boundary.objects[dispute["id"]]
    assert sent["status"] == "under_review"
    assert sent["evidence_details"]["submission_count"] == 1
    row.refresh_from_db()
    assert row.submitted_at is not None and row.evidence_file == file_id
    refused(
        seller_api.post(f"/orders/{order_id}/chargeback-note", {"text": "Too late."}),
        409,
        "transition_not_allowed",
    )


def test_a_won_dispute_returns_the_money_where_it_was_and_unlocks_the_originals(
    story, stripe_account, client, buyer_api, seller
):
    order_id, file_id, _size, dispute = story
    won = dispute_close(stripe_account, dispute["id"], "won")
    assert applied(stripe_account, client, "charge.dispute.closed", won) == "applied"

    order = Order.objects.get(pk=order_id)
    assert order.state == State.COMPLETED and order.chargeback_return_state == ""
    assert downloaded_bytes(download(buyer_api, file_id))
    assert balances(order_id, seller)["pending"] > 0
    assert ledger_kinds(order_id) == ["capture", "settlement", "chargeback", "chargeback_reversal"]
    assert [t[0] for t in transitions(order_id)][-2:] == ["chargeback", "chargeback_won"]
    assert ProviderDispute.objects.get(dispute_id=dispute["id"]).outcome == "won"
    assert_ledger_invariants()


def test_a_lost_dispute_keeps_the_originals_locked_and_counts_on_the_buyers_record(
    story, stripe_account, client, buyer_api, support_api, buyer, seller
):
    order_id, file_id, _size, dispute = story
    lost = dispute_close(stripe_account, dispute["id"], "lost")
    assert applied(stripe_account, client, "charge.dispute.closed", lost) == "applied"

    order = Order.objects.get(pk=order_id)
    assert order.state == State.CHARGED_BACK and order.closed_at is not None
    refused(download(buyer_api, file_id), 403, "originals_locked")
    assert balances(order_id, seller)["pending"] == 0
    record = ok(support_api.get(f"/users/{buyer.pk}/record"))
    assert record["as_buyer"]["charged_back"] == 1
    assert record["as_buyer"]["completed"] == 0
    assert_ledger_invariants()


def test_replayed_and_out_of_order_dispute_events_are_applied_once(
    stripe_account, settings, client, buyer_api, seller_api, seller, support
):
    order_id, intent, _file_id, _size = accepted_and_downloaded(
        settings, buyer_api, seller_api, seller, support
    )
    dispute = dispute_create(stripe_account, intent)
    created = dispute_delivery(stripe_account, "charge.dispute.created", dispute)
    lost = dispute_delivery(
        stripe_account,
        "charge.dispute.closed",
        dispute_close(stripe_account, dispute["id"], "lost"),
    )
    # closed first: the order is held, then charged back
    assert stripe_account.deliver(client, lost).json()["result"] == "applied"
    assert stripe_account.deliver(client, lost).json()["result"] == "replayed"
    assert stripe_account.deliver(client, created).json()["result"] == "applied"
    assert stripe_account.deliver(client, created).json()["result"] == "replayed"

    assert Order.objects.get(pk=order_id).state == State.CHARGED_BACK
    moves = [t[0] for t in transitions(order_id)]
    assert moves.count("chargeback") == 1 and moves.count("chargeback_lost") == 1
    assert ledger_kinds(order_id).count("chargeback") == 1
    assert_ledger_invariants()


def test_a_dispute_before_settlement_takes_the_money_from_escrow(
    stripe_account, settings, client, buyer_api, seller, support
):
    order_id, intent = paid_through_stripe(settings, buyer_api, seller, support)
    total = Order.objects.get(pk=order_id).total
    dispute = dispute_create(stripe_account, intent)
    applied(stripe_account, client, "charge.dispute.created", dispute)
    assert balances(order_id, seller)["escrow"] == 0
    assert balances(order_id, seller)["world"] == 0

    won = dispute_close(stripe_account, dispute["id"], "won")
    applied(stripe_account, client, "charge.dispute.closed", won)
    order = Order.objects.get(pk=order_id)
    assert order.state == State.IN_PROGRESS
    assert balances(order_id, seller)["escrow"] == total
    assert_ledger_invariants()


def test_a_dispute_after_a_payout_leaves_the_seller_owing_it(
    stripe_account, settings, client, buyer_api, seller_api, seller, support, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id, intent, _file_id, _size = accepted_and_downloaded(
        settings, buyer_api, seller_api, seller, support
    )
    share = balances(order_id, seller)["pending"]
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due()["cleared"] == 1
    settings.HANDOVER_PAYMENT_PROVIDER = "test"  # the payout's own provider is not this test's
    payout_request(user=seller, currency="EUR", amount=share)
    settings.HANDOVER_PAYMENT_PROVIDER = "stripe"

    dispute = dispute_create(stripe_account, intent)
    applied(stripe_account, client, "charge.dispute.created", dispute)
    assert balances(order_id, seller)["available"] == -share
    assert balances(order_id, seller)["losses"] == 0
    assert_ledger_invariants()

    won = dispute_close(stripe_account, dispute["id"], "won")
    applied(stripe_account, client, "charge.dispute.closed", won)
    assert balances(order_id, seller)["available"] == 0
    assert_ledger_invariants()


def test_a_dispute_on_a_payment_handover_does_not_know_is_acknowledged_and_changes_nothing(
    stripe_account, client
):
    intent = paid_intent(1234, "EUR")
    dispute = dispute_create(stripe_account, intent)
    assert applied(stripe_account, client, "charge.dispute.created", dispute) == "applied"
    assert not ProviderDispute.objects.exists()


def test_support_submits_the_answer_now_once_and_cannot_decide_a_stripe_dispute(
    story, stripe_account, support
):
    order_id, _file_id, _size, dispute = story
    row = ProviderDispute.objects.get(dispute_id=dispute["id"])
    desk = Client()
    desk.force_login(support)
    assert "Submit evidence now" in desk.get(f"/support/orders/{order_id}/").content.decode()
    url = f"/support/orders/{order_id}/chargeback-submit/"
    assert desk.post(url).status_code == 302
    assert desk.post(url).status_code == 302
    assert len(_requests(stripe_account, "POST", "/v1/disputes/")) == 1
    row.refresh_from_db()
    assert row.submitted_at is not None

    before = Order.objects.get(pk=order_id).state
    data = {"text": "The bank said so on the phone.", "confirm": "yes"}
    refused_page = desk.post(f"/support/orders/{order_id}/chargeback-won/", data)
    assert refused_page.status_code == 409
    assert "Stripe reports the outcome of its disputes itself" in refused_page.content.decode()
    assert Order.objects.get(pk=order_id).state == before == State.CHARGEBACK_HOLD
