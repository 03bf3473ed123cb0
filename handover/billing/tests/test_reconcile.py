"""``handover reconcile`` against localstripe: orders paid and refunded there, then each kind of
difference made on purpose.

Transfers and disputes are tested at the HTTP boundary (``testing.stripe_reconcile``):
localstripe lacks Connect and disputes.
"""

import json
import logging
import urllib.request
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from handover.billing.reconcile import Problem, reconcile
from handover.billing.tasks import reconcile_daily
from handover.ledger.models import AccountKind, Entry, LedgerTransaction
from handover.ledger.services import accounts_for
from handover.orders import services
from handover.orders.models import Order
from handover.payments.stripe_client import stripe_client
from handover.testing.factories import make_offer
from handover.testing.payout_steps import boundary_fresh
from handover.testing.stripe import paid_intent
from handover.testing.stripe_reconcile import dispute_add, transfer_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def since(stripe_account) -> datetime:
    """The start of this test's window at a localstripe emptied for it (which other tests
    share, one after the other): what reconcile lists is this test's."""
    empty = urllib.request.Request(
        f"{stripe_account.localstripe_url}/_config/data", method="DELETE"
    )
    urllib.request.urlopen(empty, timeout=10).close()
    boundary_fresh(stripe_account)
    return timezone.now().replace(microsecond=0) - timedelta(seconds=1)


def paid_order(buyer, seller, support, *, price=10000, currency="EUR", paid=None) -> Order:
    """An order paid through localstripe (``paid``: the amount paid, the order's total by
    default) and captured with its PaymentIntent's id as the reference."""
    offer = make_offer(seller, price=price, currency=currency)
    # The order is placed as a transfer would be and support confirms the payment below; the
    # pay-in's own part of issue 14 has the buyer confirm the PaymentIntent on the pay page.
    with override_settings(HANDOVER_PAYMENT_PROVIDER="manual"):
        order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    intent = stripe_intent(paid if paid is not None else order.total, currency, order.pk)
    return services.order_confirm_payment(order_id=order.pk, user=support, reference=intent)


def stripe_intent(amount: int, currency: str, order_id: int, confirm: bool = True) -> str:
    return paid_intent(amount, currency, order_id, confirm=confirm)


def stripe_refund(order: Order, amount: int) -> str:
    refund = stripe_client().v1.refunds.create(
        params={"payment_intent": order.payment_reference, "amount": amount}
    )
    assert refund.status == "succeeded"
    return refund.id


def posted(kind: str, order: Order | None, reference: str, amount: int, currency="EUR"):
    """A ledger transaction of ``kind`` whose world leg moved ``amount``, for the kinds whose
    Stripe postings other parts of issue 14 make (refund, payout by transfer, chargeback and
    its reversal). Balances are left alone: reconciliation reads transactions."""
    world, fees = accounts_for(
        currency, (AccountKind.WORLD, None, None), (AccountKind.PLATFORM_FEES, None, None)
    )
    txn = LedgerTransaction.objects.create(
        kind=kind, order=order, currency=currency, created_at=timezone.now(), reference=reference
    )
    Entry.objects.bulk_create(
        [
            Entry(transaction=txn, account=world, amount=amount),
            Entry(transaction=txn, account=fees, amount=-amount),
        ]
    )


def run(*args: str) -> tuple[int, str]:
    """The command's exit status and output."""
    lines: list[str] = []
    out = type("Out", (), {"write": lambda self, text: lines.append(text)})()
    try:
        call_command("reconcile", *args, stdout=out)
    except CommandError as error:
        return error.returncode, "".join(lines)
    return 0, "".join(lines)


def test_orders_paid_and_refunded_at_stripe_agree_with_the_ledger(since, buyer, seller, support):
    euros = paid_order(buyer, seller, support)
    yen = paid_order(buyer, seller, support, price=1500, currency="JPY")
    dinars = paid_order(buyer, seller, support, price=12340, currency="KWD")
    refund = stripe_refund(euros, 4000)
    posted("refund", euros, refund, 4000)

    status, output = run("--since", since.isoformat())

    assert status == 0
    assert output.splitlines() == [
        "0 differences (3 capture, 1 refund, 0 payout, 0 chargeback compared)"
    ]
    assert (yen.total, dinars.total) == (1583, 13020)
    status, output = run("--since", since.isoformat(), "--json")
    assert status == 0
    assert json.loads(output) == {
        "provider": "stripe",
        "compared": {"capture": 3, "refund": 1, "payout": 0, "chargeback": 0},
        "differences": [],
    }


def test_a_refund_made_at_the_dashboard_is_missing_in_the_ledger(since, buyer, seller, support):
    order = paid_order(buyer, seller, support)
    refund = stripe_refund(order, 2500)

    status, output = run("--since", since.isoformat())

    assert status == 1
    assert output.splitlines() == [
        f"missing in the ledger: refund {refund} of order {order.pk}: "
        "provider 25.00 EUR (succeeded)",
        "1 difference (1 capture, 1 refund, 0 payout, 0 chargeback compared)",
    ]


def test_a_capture_of_another_amount_is_listed(since, buyer, seller, support):
    order = paid_order(buyer, seller, support, paid=9000)

    [difference] = reconcile(since=since).differences

    assert difference.problem == Problem.AMOUNT
    assert difference.ledger and difference.provider
    assert (difference.ledger.amount, difference.provider.amount) == (order.total, 9000)
    assert difference.line() == (
        f"amount differs: capture {order.payment_reference} of order {order.pk}: "
        "ledger 105.50 EUR (succeeded), provider 90.00 EUR (succeeded)"
    )


def test_a_capture_whose_payment_intent_does_not_exist_is_missing_at_the_provider(
    since, buyer, seller, support
):
    offer = make_offer(seller)
    with override_settings(HANDOVER_PAYMENT_PROVIDER="manual"):
        order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    services.order_confirm_payment(order_id=order.pk, user=support, reference="pi_nothere")

    status, output = run("--since", since.isoformat(), "--json")

    assert status == 1
    [difference] = json.loads(output)["differences"]
    assert difference["problem"] == "missing_at_provider"
    assert (difference["kind"], difference["reference"]) == ("capture", "pi_nothere")
    assert difference["ledger"]["amount"] == 10550 and difference["provider"] is None


def test_a_capture_of_a_payment_stripe_never_took_differs_in_status(since, buyer, seller, support):
    offer = make_offer(seller)
    with override_settings(HANDOVER_PAYMENT_PROVIDER="manual"):
        order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "blue"])
    intent = stripe_intent(order.total, "EUR", order.pk, confirm=False)
    services.order_confirm_payment(order_id=order.pk, user=support, reference=intent)

    [difference] = reconcile(since=since).differences

    assert difference.problem == Problem.STATUS
    assert difference.ledger and difference.provider
    assert (difference.ledger.status, difference.provider.status) == (
        "succeeded",
        "requires_confirmation",
    )


def test_a_refund_the_ledger_records_and_stripe_never_made_is_missing_at_the_provider(
    since, buyer, seller, support
):
    order = paid_order(buyer, seller, support)
    posted("refund", order, "re_nothere", 1000)

    [difference] = reconcile(since=since).differences

    assert (difference.problem, difference.reference) == (Problem.MISSING_AT_PROVIDER, "re_nothere")


def test_a_refund_recorded_twice_is_listed(since, buyer, seller, support):
    order = paid_order(buyer, seller, support)
    refund = stripe_refund(order, 1000)
    posted("refund", order, refund, 1000)
    posted("refund", order, refund, 1000)

    [difference] = reconcile(since=since).differences

    assert (difference.problem, difference.reference) == (Problem.DUPLICATE, refund)
    assert difference.line().startswith(f"recorded twice in the ledger: refund {refund} of order")


def test_payments_of_others_on_the_same_account_are_not_compared(since, buyer, seller, support):
    client = stripe_client()
    intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "eur"})

    result = reconcile(since=since)

    assert result.differences == [] and intent.id
    assert result.compared["capture"] == 0


def test_transfers_and_disputes_are_compared_at_the_boundary(
    since, stripe_account, buyer, seller, support
):
    order, other = (paid_order(buyer, seller, support) for _ in range(2))
    boundary = stripe_account.boundary
    paid_out = transfer_add(
        boundary, amount=8000, currency="eur", transfer_group=f"order-{order.pk}"
    )
    posted("payout", None, paid_out["id"], 8000)
    taken_back = transfer_add(
        boundary, amount=500, currency="eur", transfer_group=f"order-{other.pk}", reversed_=True
    )
    posted("payout", None, taken_back["id"], 500)
    lost = dispute_add(
        boundary, payment_intent=order.payment_reference, amount=10550, currency="eur"
    )
    won = dispute_add(
        boundary, payment_intent=other.payment_reference, amount=300, currency="eur", status="won"
    )
    posted("chargeback", other, won["id"], 300)

    result = reconcile(since=since)

    found = {(d.problem, d.reference, d.order_id) for d in result.differences}
    assert found == {
        # reversed at Stripe, still paid out in the ledger
        (Problem.STATUS, taken_back["id"], other.pk),
        (Problem.MISSING_IN_LEDGER, lost["id"], order.pk),
        # won at Stripe, no reversal in the ledger
        (Problem.STATUS, won["id"], other.pk),
    }
    assert result.compared == {"capture": 2, "refund": 0, "payout": 2, "chargeback": 2}
    # Each list is asked for the window only (localstripe's lists too, through the boundary).
    asked = {path: form for method, path, form in boundary.requests if method == "GET"}
    for path in ("/v1/payment_intents", "/v1/refunds", "/v1/transfers", "/v1/disputes"):
        assert asked[path]["created[gte]"] == [str(int(since.timestamp()))], path
    posted("chargeback", order, lost["id"], 10550)
    posted("chargeback_reversal", other, won["id"], -300)
    assert {d.reference for d in reconcile(since=since).differences} == {taken_back["id"]}


def test_with_the_test_provider_there_is_nothing_to_compare(settings):
    settings.HANDOVER_PAYMENT_PROVIDER = "test"

    status, output = run()

    assert status == 0
    assert output.splitlines() == [
        "Payment provider 'test' holds no money to compare with: nothing to reconcile."
    ]


def test_the_daily_job_tells_operators_of_differences(
    since, buyer, seller, support, caplog, monkeypatch
):
    order = paid_order(buyer, seller, support)
    stripe_refund(order, 100)

    with caplog.at_level(logging.ERROR, logger="handover.billing.tasks"):
        outcome = reconcile_daily.call()

    assert outcome == {"compared": 2, "differences": 1}
    [record] = caplog.records
    assert "run `handover reconcile`" in record.getMessage()
    assert "missing in the ledger: refund" in record.getMessage()


def test_the_scheduler_enqueues_the_reconciliation_once_a_day(time_machine):
    from django_tasks_db.models import DBTaskResult

    from handover.ops.scheduler import DAY, scheduler_tick

    time_machine.move_to(timezone.now(), tick=False)
    runs = DBTaskResult.objects.filter(task_path=reconcile_daily.module_path)
    hourly_at = scheduler_tick()
    scheduler_tick(hourly_at)
    assert runs.count() == 1
    time_machine.shift(DAY - timedelta(seconds=1))
    scheduler_tick(hourly_at)
    assert runs.count() == 1
    time_machine.shift(timedelta(seconds=2))
    scheduler_tick(hourly_at)
    assert runs.count() == 2


def test_a_provider_that_does_not_answer_is_exit_status_2(settings, stripe_account):
    settings.HANDOVER_STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(CommandError, match="could not ask the payment provider") as refused:
        call_command("reconcile")

    assert refused.value.returncode == 2
    assert settings.HANDOVER_STRIPE_SECRET_KEY not in str(refused.value)
    with pytest.raises(CommandError, match="--since takes a date") as refused:
        call_command("reconcile", "--since", "yesterday")
    assert refused.value.returncode == 2
