"""Every action by every actor in every state, through the service layer.

The matrix takes its expectations from the transition table (``rules.TRANSITIONS``) and the
guards as DESIGN.md section 2 states them; ``test_rules.py`` pins the table itself.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings

from handover.accounts.models import Role, User
from handover.delivery.services import order_deliver
from handover.disputes.models import Dispute, Outcome
from handover.disputes.services import cancellation_expire, dispute_decide, dispute_open
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, LedgerTransaction, TransactionKind
from handover.lib.errors import NotFound, PermissionDenied, TransitionNotAllowed
from handover.orders import cancellation, chargebacks, services
from handover.orders.models import Order
from handover.orders.rules import CLOSED, TRANSITIONS, Action, Actor, State
from handover.testing.actors import Api, make_user
from handover.testing.factories import ALLOWED_FROM, make_offer, order_in_state
from handover.testing.snapshots import db_snapshot

T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.clock_start(T0)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as conftest's _fast_passwords
WORKING = (State.IN_PROGRESS, State.REVISION_REQUESTED, State.DELIVERED)


class Who(StrEnum):
    """Who attempts a move: the table's actors, and a user with no part in the order."""

    BUYER = "buyer"
    SELLER = "seller"
    SUPPORT = "support"
    STRANGER = "stranger"
    TIMER = "timer"
    PROVIDER = "provider"


# Support records the provider's word: a transfer that arrived, a chargeback and its outcome.
ACTS_AS = {
    (Action.PAY, Who.SUPPORT): Actor.PROVIDER,
    (Action.CHARGEBACK, Who.SUPPORT): Actor.PROVIDER,
    (Action.CHARGEBACK_WON, Who.SUPPORT): Actor.PROVIDER,
    (Action.CHARGEBACK_LOST, Who.SUPPORT): Actor.PROVIDER,
}
CHARGEBACK_SERVICES = {
    Action.CHARGEBACK: chargebacks.order_chargeback,
    Action.CHARGEBACK_WON: chargebacks.order_chargeback_won,
    Action.CHARGEBACK_LOST: chargebacks.order_chargeback_lost,
}


@dataclass(frozen=True)
class Scenario:
    id: str
    state: State
    from_state: State | None = None
    requested_by: Actor = Actor.BUYER
    released_early: bool = False
    revisions: int = 1  # included in the offer
    late: bool = False  # the attempt comes after the due date
    decide: Outcome = Outcome.RELEASE  # how support decides a dispute


def _cancellation_scenarios() -> Iterator[Scenario]:
    for source in WORKING:
        for by in (Actor.BUYER, Actor.SELLER):
            yield Scenario(
                f"cancellation_requested-by_{by}-from_{source}",
                State.CANCELLATION_REQUESTED,
                from_state=source,
                requested_by=by,
                revisions=2,
            )


# Paths through revision_requested use an offer with two revisions, so they do not depend on
# using the last one (test_buyer_can_use_the_last_revision covers that).
SCENARIOS = [
    Scenario("pending_payment", State.PENDING_PAYMENT),
    Scenario("awaiting_acceptance", State.AWAITING_ACCEPTANCE),
    Scenario("in_progress", State.IN_PROGRESS),
    Scenario("in_progress-past_due", State.IN_PROGRESS, late=True),
    Scenario("delivered", State.DELIVERED),
    Scenario("delivered-no_revisions_left", State.DELIVERED, revisions=0),
    Scenario("revision_requested", State.REVISION_REQUESTED, revisions=2),
    *_cancellation_scenarios(),
    Scenario(
        "cancellation_requested-by_buyer-from_delivered-originals_released",
        State.CANCELLATION_REQUESTED,
        from_state=State.DELIVERED,
        released_early=True,
    ),
    Scenario("disputed-before_completion", State.DISPUTED, from_state=State.DELIVERED),
    Scenario(
        "disputed-after_completion",
        State.DISPUTED,
        from_state=State.COMPLETED,
        decide=Outcome.REFUND,
    ),
    Scenario("completed", State.COMPLETED),
    Scenario("cancelled", State.CANCELLED),
    Scenario("chargeback_hold", State.CHARGEBACK_HOLD),
    Scenario("chargeback_hold-from_in_progress", State.CHARGEBACK_HOLD, State.IN_PROGRESS),
    Scenario("charged_back", State.CHARGED_BACK),
]


def expected_allowed(sc: Scenario, action: Action, who: Who) -> bool:
    """The table, then the guards, in terms of how the scenario was set up."""
    if who == Who.STRANGER:
        return False
    actor = ACTS_AS.get((action, who), Actor(who))
    rule = TRANSITIONS[action]
    if sc.state not in rule.sources or actor not in rule.actors:
        return False
    if action == Action.CANCEL_LATE:
        return sc.late
    if action == Action.REQUEST_REVISION:
        return sc.revisions > 0
    if action in (Action.ACCEPT_CANCELLATION, Action.DECLINE_CANCELLATION):
        return actor != sc.requested_by
    if action == Action.WITHDRAW_CANCELLATION:
        return actor == sc.requested_by
    if action == Action.OPEN_DISPUTE and sc.state == State.COMPLETED:
        # Within the clearance window, no earlier dispute; support opens it for the buyer.
        return actor in (Actor.BUYER, Actor.SUPPORT)
    # The scenario's cancelled order kept nothing of the payment for the bank to take.
    return not (action == Action.CHARGEBACK and sc.state == State.CANCELLED)


def expected_target(sc: Scenario, action: Action) -> State:
    if action in (Action.DECLINE_CANCELLATION, Action.WITHDRAW_CANCELLATION):
        assert sc.from_state is not None
        return sc.from_state
    if action == Action.PAY:
        return State.IN_PROGRESS  # the offer does not ask the seller to accept
    if action == Action.EXPIRE_CANCELLATION:
        return State.DISPUTED if sc.released_early else State.CANCELLED
    if action == Action.DECIDE:
        return State.CANCELLED if sc.decide == Outcome.REFUND else State.COMPLETED
    if action == Action.SETTLE_CANCELLATION:
        return State.CANCELLED  # support accepts the request
    if action == Action.CHARGEBACK_WON:
        return sc.from_state or State.COMPLETED  # where the order was when the bank took it
    (target,) = TRANSITIONS[action].targets
    return target


CANCELLATION_CLOSERS = {
    Action.ACCEPT_CANCELLATION,
    Action.EXPIRE_CANCELLATION,
    Action.SETTLE_CANCELLATION,
}
SETTLING = {
    Action.DECLINE_ORDER,
    Action.ACCEPT,
    Action.CANCEL_LATE,
    Action.ACCEPT_CANCELLATION,
    Action.EXPIRE_CANCELLATION,
    Action.SETTLE_CANCELLATION,
    Action.DECIDE,
}


# Moves that send money back to the buyer in these scenarios (a cancellation asks for 1000).
REFUNDING = {Action.DECLINE_ORDER, Action.CANCEL_LATE, *CANCELLATION_CLOSERS}


def expected_ledger(sc: Scenario, action: Action, target: State) -> list[str]:
    kinds = _expected_postings(sc, action, target)
    refunds = action in REFUNDING or (action == Action.DECIDE and sc.decide != Outcome.RELEASE)
    if kinds and refunds:
        # The test provider confirms a refund at once: it leaves refunding in the same move.
        kinds.append(TransactionKind.REFUND)
    return kinds


def _expected_postings(sc: Scenario, action: Action, target: State) -> list[str]:
    if action == Action.PAY:
        return [TransactionKind.CAPTURE]
    if action == Action.CHARGEBACK:
        return [TransactionKind.CHARGEBACK]
    if action == Action.CHARGEBACK_WON:
        return [TransactionKind.CHARGEBACK_REVERSAL]
    if action == Action.DECIDE and sc.from_state == State.COMPLETED:
        return [] if sc.decide == Outcome.RELEASE else [TransactionKind.ADJUSTMENT]
    if action in SETTLING and target in CLOSED:
        return [TransactionKind.SETTLEMENT]
    return []


def expected_refusal(action: Action, who: Who) -> type[Exception]:
    if action == Action.DECIDE and who in (Who.BUYER, Who.SELLER, Who.STRANGER):
        return PermissionDenied  # the dispute desk is for support only
    if who == Who.STRANGER:
        return NotFound
    return TransitionNotAllowed


def _work() -> list[Any]:
    return [SimpleUploadedFile("v2.png", b"\x89PNG\r\n\x1a\n" + b"more pixels" * 10)]


# The service each party calls; ``user`` is None for the timer where a service allows it.
SERVICES: dict[Action, Callable[[int, Any], object]] = {
    Action.ABANDON: lambda oid, user: services.order_abandon(order_id=oid, user=user),
    Action.ACCEPT_ORDER: lambda oid, user: services.order_accept_order(order_id=oid, user=user),
    Action.DECLINE_ORDER: lambda oid, user: services.order_decline_order(order_id=oid, user=user),
    Action.DELIVER: lambda oid, user: order_deliver(
        order_id=oid, user=user, text="Version 2", files=_work()
    ),
    Action.ACCEPT: lambda oid, user: services.order_accept(order_id=oid, user=user),
    Action.REQUEST_REVISION: lambda oid, user: services.order_request_revision(
        order_id=oid, user=user, text="Make it bluer."
    ),
    Action.CANCEL_LATE: lambda oid, user: services.order_cancel_late(order_id=oid, user=user),
    Action.REQUEST_CANCELLATION: lambda oid, user: cancellation.order_request_cancellation(
        order_id=oid, user=user, text="Plans changed.", refund=1000
    ),
    Action.ACCEPT_CANCELLATION: lambda oid, user: cancellation.order_accept_cancellation(
        order_id=oid, user=user
    ),
    Action.DECLINE_CANCELLATION: lambda oid, user: cancellation.order_decline_cancellation(
        order_id=oid, user=user, text="The work is fine."
    ),
    Action.WITHDRAW_CANCELLATION: lambda oid, user: cancellation.order_withdraw_cancellation(
        order_id=oid, user=user
    ),
    Action.SETTLE_CANCELLATION: lambda oid, user: cancellation.order_settle_cancellation(
        order_id=oid, user=user, accept=True, text="Both asked support by e-mail."
    ),
    Action.OPEN_DISPUTE: lambda oid, user: dispute_open(
        order_id=oid, user=user, text="Not what we agreed.", **_for_the_buyer(user)
    ),
}


def _for_the_buyer(user: User) -> dict[str, Any]:
    """Support opens a dispute for the buyer, who asked it to by e-mail."""
    if not user.is_support:
        return {}
    return {"for_party": Actor.BUYER, "rationale": "The buyer wrote to support."}


# Services the worker calls with user=None when a timer runs out.
TIMED = {Action.ABANDON, Action.DECLINE_ORDER, Action.ACCEPT}


@transaction.atomic
def _through_the_table(order_id: int, action: Action, who: Who, user: User | None) -> None:
    """For an actor no service lets in: ask ``order_move``, the table's one applier."""
    order = services.order_lock(order_id)
    actor = services.role_of(order, user) if user is not None else Actor(who)
    target = sorted(TRANSITIONS[action].targets)[0]
    services.order_move(order=order, action=action, actor=actor, user=user, target=target)


def attempt(
    sc: Scenario, order_id: int, action: Action, who: Who, people: dict[Who, User]
) -> object:
    """Try the move the way ``who`` would: the service for it, else ``order_move`` itself."""
    user = people.get(who)  # None for the timer and the provider
    if action == Action.PAY:
        if who == Who.PROVIDER:  # the buyer pays; the test provider captures at once
            return services.order_pay(order_id=order_id, user=people[Who.BUYER])
        if user is not None:  # a person saying that a transfer arrived
            return services.order_confirm_payment(order_id=order_id, user=user)
    elif action in CHARGEBACK_SERVICES:
        if who != Who.TIMER:  # the provider reports with no user, support on its behalf
            return CHARGEBACK_SERVICES[action](order_id=order_id, user=user)
    elif action == Action.EXPIRE_CANCELLATION:
        if who == Who.TIMER:
            return cancellation_expire(order_id=order_id)
    elif action == Action.DECIDE:
        dispute = Dispute.objects.filter(order_id=order_id).last()
        if user is not None and (dispute is not None or who != Who.SUPPORT):
            return dispute_decide(
                dispute_id=dispute.pk if dispute else 0,
                user=user,
                outcome=sc.decide,
                refund=None,
                text="Decided on the evidence.",
            )
    elif user is not None or (who == Who.TIMER and action in TIMED):
        return SERVICES[action](order_id, user)
    return _through_the_table(order_id, action, who, user)


@dataclass(frozen=True)
class World:
    people: dict[Who, User]
    order: int | Exception  # what building the scenario raised, if it failed
    snapshot: dict[str, Any]  # the database as every test of the scenario starts


@pytest.fixture(scope="class")
def world(sc, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """The scenario's order, built once for its tests; each test runs in a savepoint."""
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.mktemp("files"))},
        },
        "staticfiles": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, STORAGES=storages),
        transaction.atomic(),
    ):
        people = {
            Who.BUYER: make_user("buyer"),
            Who.SELLER: make_user("seller"),
            Who.SUPPORT: make_user("support", Role.SUPPORT),
            Who.STRANGER: make_user("stranger"),
        }
        with time_machine.travel(T0, tick=False):
            order = _build(sc, people)
        yield World(people, order, db_snapshot())
        transaction.set_rollback(True)


def _build(sc: Scenario, people: dict[Who, User]) -> int | Exception:
    try:
        with transaction.atomic():
            offer = make_offer(
                people[Who.SELLER],
                revisions=sc.revisions,
                requires_acceptance=sc.state == State.AWAITING_ACCEPTANCE,
            )
            return order_in_state(
                sc.state,
                buyer=people[Who.BUYER],
                seller=people[Who.SELLER],
                support=people[Who.SUPPORT],
                offer=offer,
                from_state=sc.from_state,
                requested_by=sc.requested_by,
                released_early=sc.released_early,
            ).pk
    except Exception as exc:  # reported by each test of the scenario
        return exc


def _last_id(model: Any, order_id: int) -> int:
    last = model.objects.filter(order_id=order_id).order_by("-id").values_list("id", flat=True)
    return last.first() or 0


@pytest.mark.parametrize("who", list(Who))
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("sc", SCENARIOS, ids=[sc.id for sc in SCENARIOS], scope="class")
class TestMatrix:
    def test_move(self, world: World, db, sc: Scenario, action: Action, who: Who):
        order_id = world.order
        if isinstance(order_id, Exception):
            pytest.fail(f"could not bring an order into {sc.id}: {order_id!r}")
        with time_machine.travel(T0, tick=False) as clock:
            order = Order.objects.get(pk=order_id)
            if sc.late:
                assert order.due_at is not None
                clock.move_to(order.due_at + timedelta(hours=1))
            if who == Who.TIMER and order.timer_at is not None:
                clock.move_to(order.timer_at + timedelta(seconds=1))
            if expected_allowed(sc, action, who):
                self.assert_moves(sc, order, action, who, world.people)
            else:
                with pytest.raises(expected_refusal(action, who)):
                    attempt(sc, order_id, action, who, world.people)
                assert db_snapshot() == world.snapshot

    def assert_moves(self, sc, order: Order, action: Action, who: Who, people) -> None:
        last_event = _last_id(Event, order.pk)
        last_txn = _last_id(LedgerTransaction, order.pk)
        attempt(sc, order.pk, action, who, people)
        target = expected_target(sc, action)
        order.refresh_from_db()
        assert order.state == target
        (event,) = Event.objects.filter(
            order=order, type=EventType.ORDER_TRANSITION, id__gt=last_event
        )
        assert event.actor_role == ACTS_AS.get((action, who), Actor(who))
        assert {k: event.payload[k] for k in ("action", "from", "to")} == {
            "action": action,
            "from": sc.state,
            "to": target,
        }
        kinds = LedgerTransaction.objects.filter(order=order, id__gt=last_txn)
        assert list(kinds.values_list("kind", flat=True)) == expected_ledger(sc, action, target)
        if target in CLOSED:
            escrow = Account.objects.filter(name=f"escrow:order:{order.pk}").first()
            assert escrow is None or escrow.balance == 0


# --- The guards, one at a time -------------------------------------------------------------


@pytest.fixture
def cast(buyer, seller, support) -> dict[str, User]:
    return {"buyer": buyer, "seller": seller, "support": support}


def _state(order: Order) -> State:
    order.refresh_from_db()
    return State(order.state)


def test_buyer_can_use_the_last_revision(clock, cast, buyer):
    order = order_in_state(State.DELIVERED, **cast)  # the offer includes one revision
    services.order_request_revision(order_id=order.pk, user=buyer, text="Bluer.")
    assert _state(order) == State.REVISION_REQUESTED
    assert order.revisions_left == 0


def test_revision_refused_when_none_left_until_the_seller_grants_one(clock, cast, buyer, seller):
    offer = make_offer(seller, revisions=0)
    order = order_in_state(State.DELIVERED, **cast, offer=offer)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="No revisions are left"):
        services.order_request_revision(order_id=order.pk, user=buyer, text="Bluer.")
    assert db_snapshot() == before
    services.order_grant_revision(order_id=order.pk, user=seller)
    services.order_request_revision(order_id=order.pk, user=buyer, text="Bluer.")
    assert _state(order) == State.REVISION_REQUESTED


def test_cancel_late_only_once_the_due_date_has_passed(clock, cast, buyer):
    order = order_in_state(State.IN_PROGRESS, **cast)
    assert order.due_at == T0 + timedelta(days=3)
    clock.move_to(order.due_at)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="not late"):
        services.order_cancel_late(order_id=order.pk, user=buyer)
    assert db_snapshot() == before
    clock.move_to(order.due_at + timedelta(seconds=1))
    services.order_cancel_late(order_id=order.pk, user=buyer)
    assert _state(order) == State.CANCELLED
    assert order.refunded == order.total


TIMER_MOVES = [
    (State.PENDING_PAYMENT, lambda oid: services.order_abandon(order_id=oid, user=None)),
    (State.AWAITING_ACCEPTANCE, lambda oid: services.order_decline_order(order_id=oid, user=None)),
    (State.DELIVERED, lambda oid: services.order_accept(order_id=oid, user=None)),
    (State.CANCELLATION_REQUESTED, lambda oid: cancellation_expire(order_id=oid)),
]


@pytest.mark.parametrize(("state", "fire"), TIMER_MOVES, ids=[s for s, _ in TIMER_MOVES])
def test_timer_acts_only_once_its_time_has_come(clock, cast, state, fire):
    order = order_in_state(state, **cast)
    assert order.timer_at is not None
    clock.move_to(order.timer_at - timedelta(seconds=1))
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="timer has not run out"):
        fire(order.pk)
    assert db_snapshot() == before
    clock.move_to(order.timer_at)
    fire(order.pk)
    assert _state(order) in CLOSED


def test_no_auto_complete_once_the_buyer_switched_it_off(clock, cast, buyer):
    order = order_in_state(State.DELIVERED, **cast)
    services.order_set_auto_complete(order_id=order.pk, user=buyer, enabled=False)
    clock.move_to(T0 + timedelta(days=30))
    with pytest.raises(TransitionNotAllowed, match="timer has not run out"):
        services.order_accept(order_id=order.pk, user=None)
    assert _state(order) == State.DELIVERED


def test_auto_complete_pauses_during_a_request_and_resumes_with_the_time_left(
    clock, cast, buyer, seller
):
    order = order_in_state(State.DELIVERED, **cast)
    assert order.timer_at == T0 + timedelta(days=3)
    clock.move_to(T0 + timedelta(days=1))
    cancellation.order_request_cancellation(order_id=order.pk, user=seller, text="Ill.", refund=0)
    order.refresh_from_db()
    assert order.paused_remaining == timedelta(days=2)
    assert order.timer_at == T0 + timedelta(days=1, hours=48)  # the response window
    clock.move_to(T0 + timedelta(days=2))
    cancellation.order_decline_cancellation(order_id=order.pk, user=buyer, text="Finish it.")
    assert _state(order) == State.DELIVERED
    assert order.timer_at == T0 + timedelta(days=4)
    assert order.paused_remaining is None


def test_dispute_after_completion_only_within_the_clearance_window(clock, cast, buyer):
    order = order_in_state(State.COMPLETED, **cast)
    assert order.clears_at is not None
    clock.move_to(order.clears_at)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="clearance window"):
        dispute_open(order_id=order.pk, user=buyer, text="Broken files.")
    assert db_snapshot() == before


def test_no_second_dispute_after_one_was_decided(clock, cast, buyer):
    order = order_in_state(State.COMPLETED, **cast, from_state=State.DISPUTED)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="dispute decided already"):
        dispute_open(order_id=order.pk, user=buyer, text="Again.")
    assert db_snapshot() == before


def test_unanswered_request_goes_to_support_when_originals_were_released(clock, cast):
    order = order_in_state(
        State.CANCELLATION_REQUESTED, **cast, from_state=State.DELIVERED, released_early=True
    )
    assert order.timer_at is not None
    clock.move_to(order.timer_at)
    cancellation_expire(order_id=order.pk)
    assert _state(order) == State.DISPUTED
    assert order.settled_at is None
    assert Dispute.objects.get(order=order).opened_by_role == Actor.TIMER


def test_the_orders_own_expiry_never_cancels_for_a_buyer_who_holds_originals(clock, cast):
    order = order_in_state(
        State.CANCELLATION_REQUESTED, **cast, from_state=State.DELIVERED, released_early=True
    )
    assert order.timer_at is not None
    clock.move_to(order.timer_at)
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="holds originals"):
        cancellation.order_expire_cancellation(order_id=order.pk)
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("who", "error"),
    [("seller", TransitionNotAllowed), ("support", TransitionNotAllowed), ("stranger", NotFound)],
)
def test_only_the_buyer_starts_a_payment(cast, stranger, who, error):
    order = order_in_state(State.PENDING_PAYMENT, **cast)
    before = db_snapshot()
    with pytest.raises(error):
        services.order_pay(order_id=order.pk, user={**cast, "stranger": stranger}[who])
    assert db_snapshot() == before


# --- Through the HTTP API ------------------------------------------------------------------

REFUSED_OVER_HTTP = [
    (State.PENDING_PAYMENT, {}, "seller", "pay", None),
    (State.AWAITING_ACCEPTANCE, {}, "buyer", "accept-order", None),
    (State.IN_PROGRESS, {}, "buyer", "cancel-late", None),
    (State.DELIVERED, {}, "seller", "accept", None),
    (State.CANCELLATION_REQUESTED, {}, "buyer", "accept-cancellation", None),
    (
        State.CANCELLATION_REQUESTED,
        {"requested_by": Actor.SELLER},
        "buyer",
        "withdraw-cancellation",
        None,
    ),
    (State.COMPLETED, {}, "seller", "open-dispute", {"text": "Unpaid extras."}),
    (State.CANCELLED, {}, "buyer", "request-cancellation", {"text": "Again.", "refund": 0}),
]


@pytest.mark.parametrize(
    ("state", "options", "who", "action", "body"),
    REFUSED_OVER_HTTP,
    ids=[f"{s}-{w}-{a}" for s, _, w, a, _ in REFUSED_OVER_HTTP],
)
def test_refused_move_over_http_is_409_and_changes_nothing(cast, state, options, who, action, body):
    order = order_in_state(state, **cast, **options)
    api = Api(cast[who])
    before = db_snapshot()
    r = api.act(order.pk, action, body)
    assert r.status_code == 409, r.content
    assert r.json()["error"] == "transition_not_allowed"
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("state", "action", "body"),
    [
        (State.PENDING_PAYMENT, "pay", None),
        (State.DELIVERED, "accept", None),
        (State.DELIVERED, "open-dispute", {"text": "Mine now."}),
        (State.CANCELLATION_REQUESTED, "accept-cancellation", None),
    ],
)
def test_stranger_is_told_the_order_does_not_exist(cast, stranger, state, action, body):
    order = order_in_state(state, **cast)
    api = Api(stranger)
    before = db_snapshot()
    r = api.act(order.pk, action, body)
    assert r.status_code == 404, r.content
    assert r.json()["error"] == "not_found"
    assert api.get(f"/orders/{order.pk}").status_code == 404
    assert db_snapshot() == before


# --- The factory ---------------------------------------------------------------------------

WAYS_IN = [(state, None) for state in State] + [
    (state, source) for state, sources in ALLOWED_FROM.items() for source in sources
]


@pytest.mark.parametrize(("state", "source"), WAYS_IN, ids=[f"{s}-from_{f}" for s, f in WAYS_IN])
def test_order_in_state_reaches_each_state_each_way_in(cast, state, source):
    order = order_in_state(state, **cast, from_state=source, requested_by=Actor.SELLER, refund=0)
    assert order.state == state
    last = Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION).last()
    if state == State.PENDING_PAYMENT:
        assert last is None
    else:
        assert last is not None and last.payload["to"] == state
        assert source is None or last.payload["from"] == source


def test_order_in_state_refuses_a_way_in_that_does_not_exist(cast):
    with pytest.raises(ValueError, match="cannot be reached"):
        order_in_state(State.COMPLETED, **cast, from_state=State.IN_PROGRESS)
