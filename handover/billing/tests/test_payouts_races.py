"""Two payouts of one seller at the same instant, from threads with their own database
connections (real commits, PostgreSQL row locks): one sends the Transfers, the other finds
nothing left, and Stripe gets one Transfer per order.

localstripe lacks Connect, so the Transfers are answered by the test boundary server with
Stripe's documented shapes (``testing.stripe_connect``)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from handover.billing.payouts import payout_request
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.lib.errors import Conflict
from handover.testing.actors import make_user
from handover.testing.payout_steps import boundary_fresh, cleared_order, linked_account
from handover.testing.steps import balance
from handover.testing.stripe_connect import transfers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_payouts_at_once_send_each_order_once(stripe_account, time_machine):
    boundary = boundary_fresh(stripe_account)
    seller, buyer, support = make_user("seller"), make_user("buyer"), make_user("support")
    time_machine.move_to(timezone.now(), tick=True)
    orders = [cleared_order(time_machine, buyer=buyer, seller=seller, support=support)]
    orders.append(cleared_order(time_machine, buyer=buyer, seller=seller, support=support))
    linked_account(seller)
    start = threading.Barrier(2)

    def pay_out() -> str:
        start.wait()
        try:
            return f"sent {len(payout_request(user=seller, currency='EUR'))}"
        except Conflict as refusal:
            return refusal.code
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: pay_out(), range(2)))

    assert outcomes == ["insufficient_funds", "sent 2"]
    sent = transfers(boundary)
    assert sorted(t["transfer_group"] for t in sent) == sorted(f"order-{o.pk}" for o in orders)
    posted = LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT)
    assert sorted(p.reference for p in posted) == sorted(t["id"] for t in sent)
    assert balance(f"seller:{seller.pk}:available") == 0
