"""Claims: a row is sent by one worker at a time, and sent again once a killed worker's claim
runs out. The race runs on PostgreSQL with threads of their own connections."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from handover.notifications import rules
from handover.notifications.models import Outbox
from handover.notifications.services import _claim
from handover.orders import services as orders
from handover.testing.factories import make_offer
from handover.testing.steps import paid_order

SECOND = timedelta(seconds=1)


def test_a_claimed_row_is_not_claimed_again_until_its_lease_runs_out(offer, buyer_api):
    paid_order(buyer_api, offer)
    now = timezone.now()
    [claimed] = _claim(now, 10)
    assert claimed.attempts == 1
    assert _claim(now, 10) == []
    assert _claim(now + rules.CLAIM_LEASE - SECOND, 10) == []
    [again] = _claim(now + rules.CLAIM_LEASE, 10)
    assert again.pk == claimed.pk and again.attempts == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_worker_takes_other_rows_without_waiting_for_the_first(buyer, seller):
    offer = make_offer(seller)
    for _ in range(6):  # six payments: six mails to the seller
        order = orders.order_place(buyer=buyer, offer_id=offer.pk, answers=["A", "B"])
        orders.order_pay(order_id=order.pk, user=buyer)
    assert Outbox.objects.count() == 6
    now = timezone.now()
    first_holds = threading.Event()
    second_done = threading.Event()
    taken: dict[str, list[int]] = {}
    waited: list[float] = []

    def first() -> None:
        try:
            with transaction.atomic():  # its row locks are held until the second is done
                taken["first"] = [row.pk for row in _claim(now, 3)]
                first_holds.set()
                second_done.wait(30)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_holds.wait(30)
            started = time.monotonic()
            taken["second"] = [row.pk for row in _claim(now, 10)]
            waited.append(time.monotonic() - started)
        finally:
            second_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(taken["first"]) == 3 and len(taken["second"]) == 3
    assert set(taken["first"]).isdisjoint(taken["second"])
    assert waited[0] < 5
    assert set(Outbox.objects.values_list("attempts", flat=True)) == {1}
