"""The record's counters, kept by the order and dispute services as each order closes: every
way an order can end, the data migration that fills them for orders already there, and
orders of one seller closing at once."""

import functools
import importlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from handover.accounts.models import Role, User
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide
from handover.ops.timers import timers_run_due
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer, order_in_state
from handover.trust.models import PartyRole, RoleCounts
from handover.trust.selectors import user_record
from handover.trust.tests.test_races import _at_once

fill = importlib.import_module("handover.trust.migrations.0003_fill_role_counts").fill
uncount_declines = importlib.import_module(
    "handover.trust.migrations.0005_uncount_declines_from_buyers"
)

COUNTERS = [
    f.name for f in RoleCounts._meta.concrete_fields if f.name not in ("id", "user", "role")
]


def counts(user: User, role: PartyRole) -> dict[str, int]:
    """The user's counters in ``role`` that are not zero."""
    row = RoleCounts.objects.filter(user=user, role=role).first()
    return {} if row is None else {n: getattr(row, n) for n in COUNTERS if getattr(row, n)}


def all_counts() -> dict[tuple[int, str], dict[str, int]]:
    rows = RoleCounts.objects.order_by("user_id", "role")
    return {(r.user_id, r.role): {n: getattr(r, n) for n in COUNTERS} for r in rows}


def refilled() -> dict[tuple[int, str], dict[str, int]]:
    """The counters as the data migrations compute them from the orders, events, disputes."""
    fill(apps, None)
    uncount_declines.uncount(apps, None)
    return all_counts()


# --- each way an order ends ------------------------------------------------------------------

Parties = dict[str, Any]


def decided(parties: Parties, outcome: str, **kind: Any) -> Order:
    order = order_in_state(State.DISPUTED, **parties, **kind)
    dispute = Dispute.objects.get(order=order, decided_at__isnull=True)
    refund = order.total // 2 if outcome == "split" else None
    dispute_decide(
        dispute_id=dispute.pk,
        user=parties["support"],
        outcome=outcome,
        refund=refund,
        text="R",
    )
    return order


def released_then_cancelled_by_buyer(parties: Parties) -> None:
    order = order_in_state(
        State.CANCELLATION_REQUESTED, **parties, from_state=State.DELIVERED, released_early=True
    )
    cancellation.order_accept_cancellation(order_id=order.pk, user=parties["seller"])


def declined_by_the_timer(parties: Parties, time_machine, settings) -> None:
    offer = make_offer(parties["seller"], requires_acceptance=True)
    order_in_state(State.AWAITING_ACCEPTANCE, **parties, offer=offer)
    time_machine.shift(settings.HANDOVER_ACCEPTANCE_WINDOW)
    assert timers_run_due()["fired"] == 1


def expired_request_of_the_seller(parties: Parties, time_machine, settings) -> None:
    order_in_state(State.CANCELLATION_REQUESTED, **parties, requested_by=Actor.SELLER)
    time_machine.shift(settings.HANDOVER_CANCELLATION_WINDOW)
    assert timers_run_due()["fired"] == 1


def cancelled_late(parties: Parties, time_machine, settings) -> None:
    order = order_in_state(State.IN_PROGRESS, **parties)
    time_machine.shift(timedelta(days=order.delivery_days, seconds=1))
    services.order_cancel_late(order_id=order.pk, user=parties["buyer"])


AGREED = {"cancellations_total": 1, "cancellations_agreed": 1}
OPENED = {"disputes_opened": 1}  # by the buyer: the factory's disputes are the buyer's

# (how the order ends, both parties' counters (the buyer's as a buyer, the seller's as a
# seller), and those of one party alone)
ENDINGS: list[tuple[str, Callable[..., Any], dict[str, int], dict[str, dict[str, int]]]] = [
    ("completed", lambda p, *_: order_in_state(State.COMPLETED, **p), {"completed": 1}, {}),
    (
        "charged back after completion",
        lambda p, *_: order_in_state(State.CHARGED_BACK, **p),
        {"charged_back": 1},
        {},
    ),
    (
        "cancellation the buyer asked for",
        lambda p, *_: order_in_state(State.CANCELLED, **p),
        {**AGREED, "cancellations_by_buyer": 1},
        {},
    ),
    (
        "cancellation the seller asked for",
        lambda p, *_: order_in_state(State.CANCELLED, **p, requested_by=Actor.SELLER),
        {**AGREED, "cancellations_by_seller": 1},
        {},
    ),
    (
        "cancellation the buyer asked for after originals were released",
        lambda p, *_: released_then_cancelled_by_buyer(p),
        {
            **AGREED,
            "cancellations_by_buyer": 1,
            "cancellations_after_release": 1,
            "cancellations_by_buyer_after_release": 1,
        },
        {},
    ),
    (
        # The seller's cancellation, not the buyer's: on the seller's record only.
        "declined by the seller",
        lambda p, *_: order_in_state(State.CANCELLED, **p, from_state=State.AWAITING_ACCEPTANCE),
        {},
        {"seller": {"cancellations_total": 1, "cancellations_by_seller": 1}},
    ),
    (
        "declined by the acceptance timer",
        declined_by_the_timer,
        {},
        {"seller": {"cancellations_total": 1, "cancellations_by_timer": 1}},
    ),
    (
        "the seller's request expired",
        expired_request_of_the_seller,
        {"cancellations_total": 1, "cancellations_by_seller": 1},
        {},
    ),
    (
        "cancelled late by the buyer",
        cancelled_late,
        {"cancellations_total": 1, "cancellations_by_buyer": 1},
        {},
    ),
    (
        "a dispute refunded",
        lambda p, *_: decided(p, "refund"),
        {"cancellations_total": 1, "cancellations_by_support": 1},
        {"buyer": {**OPENED, "disputes_won": 1}, "seller": {"disputes_lost": 1}},
    ),
    (
        "a dispute released",
        lambda p, *_: decided(p, "release"),
        {"completed": 1},
        {"buyer": {**OPENED, "disputes_lost": 1}, "seller": {"disputes_won": 1}},
    ),
    (
        "a dispute split",
        lambda p, *_: decided(p, "split"),
        {"completed": 1},
        {"buyer": {**OPENED, "disputes_split": 1}, "seller": {"disputes_split": 1}},
    ),
    (
        "a dispute after completion refunded",
        lambda p, *_: decided(p, "refund", from_state=State.COMPLETED),
        {
            "cancellations_total": 1,
            "cancellations_by_support": 1,
            "cancellations_after_release": 1,
        },
        {"buyer": {**OPENED, "disputes_won": 1}, "seller": {"disputes_lost": 1}},
    ),
    (
        "a dispute after completion released",
        lambda p, *_: decided(p, "release", from_state=State.COMPLETED),
        {"completed": 1},
        {"buyer": {**OPENED, "disputes_lost": 1}, "seller": {"disputes_won": 1}},
    ),
    (
        "abandoned before payment",
        lambda p, *_: order_in_state(State.CANCELLED, **p, from_state=State.PENDING_PAYMENT),
        {},
        {},
    ),
]


@pytest.mark.parametrize(
    ("end", "ended", "disputes"), [e[1:] for e in ENDINGS], ids=[e[0] for e in ENDINGS]
)
def test_each_way_an_order_ends_is_counted_once_for_both_parties(
    end, ended, disputes, buyer, seller, support, time_machine, settings
):
    time_machine.move_to(timezone.now(), tick=False)
    end({"buyer": buyer, "seller": seller, "support": support}, time_machine, settings)

    assert counts(buyer, PartyRole.BUYER) == {**ended, **disputes.get("buyer", {})}
    assert counts(seller, PartyRole.SELLER) == {**ended, **disputes.get("seller", {})}
    assert counts(buyer, PartyRole.SELLER) == counts(seller, PartyRole.BUYER) == {}
    # The data migration reads the same from the orders, their events and disputes.
    assert refilled() == all_counts()


def test_an_order_out_of_completed_while_disputed_counts_nowhere(buyer, seller, support):
    order_in_state(
        State.DISPUTED, buyer=buyer, seller=seller, support=support, from_state=State.COMPLETED
    )

    assert counts(buyer, PartyRole.BUYER) == OPENED
    assert counts(seller, PartyRole.SELLER) == {}
    assert user_record(buyer).as_buyer.completed == 0


def test_a_dispute_opened_by_the_timer_goes_on_nobodys_record(
    buyer, seller, support, time_machine, settings
):
    time_machine.move_to(timezone.now(), tick=False)
    parties = {"buyer": buyer, "seller": seller, "support": support}
    order = order_in_state(
        State.CANCELLATION_REQUESTED, **parties, from_state=State.DELIVERED, released_early=True
    )
    time_machine.shift(settings.HANDOVER_CANCELLATION_WINDOW)
    assert timers_run_due()["fired"] == 1
    assert Order.objects.get(pk=order.pk).state == State.DISPUTED

    assert counts(buyer, PartyRole.BUYER) == counts(seller, PartyRole.SELLER) == {}
    assert refilled() == all_counts()


# --- the data migrations ---------------------------------------------------------------------


def test_the_migration_takes_declines_out_of_the_buyers_records(buyer, seller, support):
    parties: Parties = {"buyer": buyer, "seller": seller, "support": support}
    order_in_state(State.CANCELLED, **parties, from_state=State.AWAITING_ACCEPTANCE)
    order_in_state(State.CANCELLED, **parties)  # asked for by the buyer: stays theirs
    seller_counts = counts(seller, PartyRole.SELLER)
    # As the services counted a decline before: on the buyer's record too.
    RoleCounts.objects.filter(user=buyer, role=PartyRole.BUYER).update(
        cancellations_total=2, cancellations_by_seller=1
    )

    uncount_declines.uncount(apps, None)

    assert counts(buyer, PartyRole.BUYER) == {**AGREED, "cancellations_by_buyer": 1}
    assert counts(seller, PartyRole.SELLER) == seller_counts
    assert user_record(buyer).as_buyer.cancellations.by_seller == 0
    uncount_declines.recount(apps, None)  # and back
    assert counts(buyer, PartyRole.BUYER) == {
        **AGREED,
        "cancellations_total": 2,
        "cancellations_by_buyer": 1,
        "cancellations_by_seller": 1,
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_counters_of_orders_already_there():
    buyer, seller = make_user("buyer"), make_user("seller")
    support = make_user("agent", Role.SUPPORT)
    parties: Parties = {"buyer": buyer, "seller": seller, "support": support}
    order_in_state(State.COMPLETED, **parties)
    order_in_state(State.CANCELLED, **parties, requested_by=Actor.SELLER)
    decided(parties, "release")
    kept = all_counts()
    assert kept[(buyer.pk, PartyRole.BUYER)]["disputes_lost"] == 1
    RoleCounts.objects.all().delete()  # as before the counters came

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("trust", "0002_role_counts")])
        executor.loader.build_graph()
        executor.migrate([("trust", "0003_fill_role_counts")])

        assert all_counts() == kept
        assert user_record(buyer).as_buyer.completed == 2
    finally:
        # The later migrations' tables back, for the tests that follow on this database.
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- at once ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_orders_of_one_seller_closing_at_once_are_all_counted():
    support = make_user("agent", Role.SUPPORT)
    for _ in range(3):
        buyer, seller = make_user("buyer"), make_user("seller")  # rows made by the race itself
        orders = [
            order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
            for _ in range(4)
        ]
        calls: list[Callable[[], object]] = [
            functools.partial(services.order_accept, order_id=order.pk, user=buyer)
            for order in orders
        ]

        assert _at_once(calls) == ["ok"] * len(orders)
        assert (
            counts(buyer, PartyRole.BUYER)
            == counts(seller, PartyRole.SELLER)
            == {"completed": len(orders)}
        )
