"""Conflicting moves fired at the same instant from threads with their own database connections
(real commits, PostgreSQL row locks): exactly one wins, the loser gets TransitionNotAllowed (409
through the API), and the ledger is exact afterwards."""

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from handover.accounts.models import User
from handover.accounts.services import token_create
from handover.delivery.services import order_deliver
from handover.disputes.services import dispute_open
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, AccountKind
from handover.ledger.rules import shares
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.lib.errors import HandoverError, TransitionNotAllowed
from handover.ops.timers import timer_fire
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 200
PAIRS_AT_ONCE = 4  # pairs racing at the same time, each pair on its own order
THROUGH_API = 20  # the first orders of a scenario race through HTTP, to see the 409
WON, LOST = "won", "lost"


@dataclass(frozen=True)
class People:
    buyer: User
    seller: User
    tokens: dict[str, str]  # "buyer" / "seller" -> bearer token


@pytest.fixture
def people(transactional_db) -> People:
    buyer, seller = make_user("buyer"), make_user("seller")
    return People(
        buyer, seller, {"buyer": token_create(user=buyer), "seller": token_create(user=seller)}
    )


def _delivered(people: People, count: int) -> list[Order]:
    offer = make_offer(people.seller, price=10_000, revisions=1)
    orders = []
    for _ in range(count):
        order = services.order_place(buyer=people.buyer, offer_id=offer.pk, answers=["A", "B"])
        services.order_pay(order_id=order.pk, user=people.buyer)
        work = SimpleUploadedFile("logo.png", b"PNG" * 10)
        order_deliver(order_id=order.pk, user=people.seller, text="Done.", files=[work])
        orders.append(Order.objects.get(pk=order.pk))
    return orders


def _party(people: People, name: str) -> User:
    return people.buyer if name == "buyer" else people.seller


# --- one move, run in a worker thread ---------------------------------------------------------


def _service(service: Callable[..., object], **kwargs: object) -> Callable[[], str]:
    """A service call: WON, or LOST when it raised TransitionNotAllowed."""

    def move() -> str:
        try:
            service(**kwargs)
        except TransitionNotAllowed:
            return LOST
        return WON

    return move


def _api(token: str, path: str, body: dict | None = None) -> Callable[[], str]:
    """A POST through the whole HTTP stack: WON on 200, LOST on 409 transition_not_allowed."""

    def move() -> str:
        response = Client().post(
            f"/api/v1{path}",
            json.dumps(body or {}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 200:
            return WON
        assert response.status_code == 409, response.content
        assert response.json()["error"] == "transition_not_allowed", response.content
        return LOST

    return move


def _timer_fire(order_id: int) -> Callable[[], str]:
    """The worker's own entry point; it logs and swallows a refusal, returning False."""
    return lambda: WON if timer_fire(order_id=order_id) else LOST


def _in_thread(move: Callable[[], str], start: threading.Barrier) -> str:
    try:
        connection.ensure_connection()  # connect first, so both moves leave the barrier ready
        start.wait(timeout=60)
        return move()
    except HandoverError as exc:
        return f"unexpected {exc!r}"
    finally:
        connection.close()


def _race(pairs: list[tuple[Callable[[], str], Callable[[], str]]]) -> list[tuple[str, str]]:
    """Run each pair's two moves at once, a few pairs at a time; the outcomes, pair by pair.

    Pairs are queued in order, so a worker waiting at its pair's barrier always finds the
    other move running or next in the queue: the pool cannot deadlock.
    """
    with ThreadPoolExecutor(max_workers=2 * PAIRS_AT_ONCE) as pool:
        futures = []
        for first, second in pairs:
            start = threading.Barrier(2)
            futures.append(
                (pool.submit(_in_thread, first, start), pool.submit(_in_thread, second, start))
            )
        return [(a.result(timeout=120), b.result(timeout=120)) for a, b in futures]


def _last_event() -> int:
    """Taken before a race, so the race's own events can be told from the setup's."""
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _transitions_since(event_id: int, order: Order) -> list[dict]:
    return list(
        Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION, pk__gt=event_id)
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def _pending(seller: User) -> int:
    account = Account.objects.filter(kind=AccountKind.SELLER_PENDING, owner=seller).first()
    return account.balance if account else 0


def _share(order: Order, refund: int) -> int:
    return shares(
        total=order.total, price=order.price, seller_fee=order.seller_fee, refund=refund
    ).seller


def _check(since: int, orders, outcomes, *, first_wins: dict, second_wins: dict) -> int:
    """Exactly one winner per order, the state it leads to, one transition event; returns the
    seller's expected pending balance. ``*_wins``: {"state": State, "share": order -> int}."""
    expected_pending = 0
    fresh = {o.pk: o for o in Order.objects.filter(pk__in=[o.pk for o in orders])}
    for order, outcome in zip(orders, outcomes, strict=True):
        assert sorted(outcome) == [LOST, WON], f"order {order.pk}: {outcome}"
        winner = first_wins if outcome[0] == WON else second_wins
        assert fresh[order.pk].state == winner["state"], f"order {order.pk}: {outcome}"
        moved = _transitions_since(since, order)
        assert len(moved) == 1 and moved[0]["to"] == winner["state"], moved
        expected_pending += winner["share"](order)
    assert_ledger_invariants()
    return expected_pending


# --- the races --------------------------------------------------------------------------------


def test_accept_against_request_cancellation_on_a_delivered_order(people):
    orders = _delivered(people, ORDERS)
    pairs = []
    for i, order in enumerate(orders):
        asker = "buyer" if i % 2 else "seller"
        refund = i * 37 % (order.total + 1)
        if i < THROUGH_API:
            accept = _api(people.tokens["buyer"], f"/orders/{order.pk}/accept")
            request = _api(
                people.tokens[asker],
                f"/orders/{order.pk}/request-cancellation",
                {"text": "Changed my mind.", "refund": refund},
            )
        else:
            accept = _service(services.order_accept, order_id=order.pk, user=people.buyer)
            request = _service(
                cancellation.order_request_cancellation,
                order_id=order.pk,
                user=_party(people, asker),
                text="Changed my mind.",
                refund=refund,
            )
        pairs.append((accept, request) if i % 3 else (request, accept))
    since = _last_event()
    outcomes = _race(pairs)
    # Put every pair back in (accept, request) order before checking.
    outcomes = [o if i % 3 else (o[1], o[0]) for i, o in enumerate(outcomes)]
    expected = _check(
        since,
        orders,
        outcomes,
        first_wins={"state": State.COMPLETED, "share": lambda o: _share(o, 0)},
        second_wins={"state": State.CANCELLATION_REQUESTED, "share": lambda o: 0},
    )
    assert _pending(people.seller) == expected
    assert {a for a, _ in outcomes} == {WON, LOST}, "one side won every race: no real contention?"


def test_accept_cancellation_against_withdraw_cancellation(people):
    orders = _delivered(people, ORDERS)
    refunds = {}
    askers = {}
    for i, order in enumerate(orders):
        askers[order.pk] = "buyer" if i % 2 else "seller"
        refunds[order.pk] = i * 53 % (order.total + 1)
        cancellation.order_request_cancellation(
            order_id=order.pk,
            user=_party(people, askers[order.pk]),
            text="It is not working out.",
            refund=refunds[order.pk],
        )
    pairs = []
    for i, order in enumerate(orders):
        asker = askers[order.pk]
        other = "seller" if asker == "buyer" else "buyer"
        if i < THROUGH_API:
            accept = _api(people.tokens[other], f"/orders/{order.pk}/accept-cancellation")
            withdraw = _api(people.tokens[asker], f"/orders/{order.pk}/withdraw-cancellation")
        else:
            accept = _service(
                cancellation.order_accept_cancellation,
                order_id=order.pk,
                user=_party(people, other),
            )
            withdraw = _service(
                cancellation.order_withdraw_cancellation,
                order_id=order.pk,
                user=_party(people, asker),
            )
        pairs.append((accept, withdraw))
    since = _last_event()
    outcomes = _race(pairs)
    expected = _check(
        since,
        orders,
        outcomes,
        first_wins={"state": State.CANCELLED, "share": lambda o: _share(o, refunds[o.pk])},
        second_wins={"state": State.DELIVERED, "share": lambda o: 0},
    )
    assert _pending(people.seller) == expected
    for order in Order.objects.filter(pk__in=refunds, state=State.CANCELLED):
        assert order.refunded == refunds[order.pk]


def test_auto_complete_timer_against_open_dispute(people):
    """The seller's dispute and the timer exclude each other. The buyer's do not quite: a buyer
    may still dispute a completed order, so when the timer wins, the buyer's dispute lands
    after it; both orders of events are fine, anything else is not."""
    # Delivered four days ago: the three-day auto-complete timer has run out.
    with time_machine.travel(timezone.now() - timedelta(days=4), tick=True):
        orders = _delivered(people, ORDERS)
    assert all(o.timer_at and o.timer_at < timezone.now() for o in orders)
    pairs = []
    for i, order in enumerate(orders):
        opener = "buyer" if i % 2 else "seller"
        if i % 4 == 0:
            timer = _timer_fire(order.pk)
        else:
            timer = _service(services.order_accept, order_id=order.pk, user=None)
        if i < THROUGH_API:
            dispute = _api(
                people.tokens[opener],
                f"/orders/{order.pk}/open-dispute",
                {"text": "Not as asked."},
            )
        else:
            dispute = _service(
                dispute_open,
                order_id=order.pk,
                user=_party(people, opener),
                text="Not as asked.",
            )
        pairs.append((timer, dispute))
    since = _last_event()
    outcomes = _race(pairs)
    sellers = slice(0, None, 2)
    expected = _check(
        since,
        orders[sellers],
        outcomes[sellers],
        first_wins={"state": State.COMPLETED, "share": lambda o: _share(o, 0)},
        second_wins={"state": State.DISPUTED, "share": lambda o: 0},
    )
    for order, outcome in zip(orders[1::2], outcomes[1::2], strict=True):
        moved = [(m["action"], m["to"]) for m in _transitions_since(since, order)]
        if outcome == (LOST, WON):
            assert moved == [("open_dispute", State.DISPUTED)], moved
        else:
            assert outcome == (WON, WON), f"order {order.pk}: {outcome}"
            assert moved == [("accept", State.COMPLETED), ("open_dispute", State.DISPUTED)]
            expected += _share(order, 0)  # settled at completion, held pending by the dispute
    assert (
        Order.objects.filter(pk__in=[o.pk for o in orders[1::2]])
        .exclude(state=State.DISPUTED)
        .count()
        == 0
    )
    assert _pending(people.seller) == expected


def test_fifty_concurrent_accepts_of_one_order(people):
    (order,) = _delivered(people, 1)
    moves = [
        _api(people.tokens["buyer"], f"/orders/{order.pk}/accept")
        if i % 2
        else _service(services.order_accept, order_id=order.pk, user=people.buyer)
        for i in range(50)
    ]
    start = threading.Barrier(len(moves))
    since = _last_event()
    with ThreadPoolExecutor(max_workers=len(moves)) as pool:
        outcomes = list(pool.map(lambda move: _in_thread(move, start), moves))
    assert (outcomes.count(WON), outcomes.count(LOST)) == (1, 49), outcomes
    assert len(_transitions_since(since, order)) == 1
    assert Order.objects.get(pk=order.pk).state == State.COMPLETED
    assert_ledger_invariants()
    assert _pending(people.seller) == _share(order, 0)
