"""Random action sequences by random actors over several orders, against a model of DESIGN.md
sections 2 and 3. After every step: the database agrees with the model, every move was a row of
the transition table and wrote its event, a refused move changed nothing, the ledger is exact.

HANDOVER_SLOW=1 runs 10,000 sequences instead of 500. On PostgreSQL the default is 250: a
step takes half as long again there and its pass is the test run's longest; what it adds, the
database's own behaviour, every sequence exercises, and the rules the model checks are the
same on both databases.
"""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from handover.accounts.models import Role, User
from handover.billing.payouts import payout_request
from handover.delivery.models import Delivery, DeliveryFile
from handover.delivery.previewing import preview_make
from handover.delivery.services import delivery_release_early, order_deliver
from handover.disputes.models import Dispute
from handover.disputes.services import cancellation_expire, dispute_decide, dispute_open
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, AccountKind, Entry, LedgerTransaction
from handover.ledger.rules import shares
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.lib.errors import (
    Conflict,
    HandoverError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from handover.ops.timers import timers_run_due
from handover.orders import cancellation, chargebacks, services
from handover.orders.models import Message, Order
from handover.orders.rules import CLOSED, TIMER_ACTIONS, TRANSITIONS, Action, Actor
from handover.orders.rules import State as S
from handover.testing.actors import make_user
from handover.testing.factories import make_offer

SLOW = os.environ.get("HANDOVER_SLOW") == "1"
START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
WORKING = (S.IN_PROGRESS, S.REVISION_REQUESTED, S.DELIVERED)
PAID = (S.AWAITING_ACCEPTANCE, *WORKING, S.CANCELLATION_REQUESTED, S.DISPUTED, S.COMPLETED)
CHARGEBACK_STEPS = (Action.CHARGEBACK, Action.CHARGEBACK_WON, Action.CHARGEBACK_LOST)
# No early release while the order is closed or its chargeback is being decided.
LOCKED = (S.COMPLETED, S.CANCELLED, S.CHARGED_BACK, S.CHARGEBACK_HOLD)
REFUSED = (TransitionNotAllowed, NotFound, InvalidInput)
ANYONE = ("buyer", "seller", "support", "stranger", "timer")
BOTH = ("buyer", "seller")
# Basis points of the order's total, or -1 for a refund below zero.
REFUND = st.integers(-1, 10_000)
ORDER_SPEC = st.fixed_dictionaries(
    {
        "seller": st.integers(0, 1),
        "buyer": st.integers(0, 2),
        "price": st.one_of(st.sampled_from([1, 99, 10_000]), st.integers(1, 10**7)),
        "currency": st.sampled_from(["EUR", "JPY"]),
        "revisions": st.integers(0, 2),
        "delivery_days": st.integers(1, 3),
        "requires_acceptance": st.booleans(),
        "paid": st.sampled_from([True, True, False]),
    }
)


def _window(name: str) -> timedelta:
    return {
        "payment": django_settings.HANDOVER_PAYMENT_WINDOW,
        "acceptance": django_settings.HANDOVER_ACCEPTANCE_WINDOW,
        "cancellation": django_settings.HANDOVER_CANCELLATION_WINDOW,
        "auto_complete": django_settings.HANDOVER_AUTO_COMPLETE_AFTER,
        "clearance": django_settings.HANDOVER_CLEARANCE_PERIOD,
    }[name]


WAIT = st.one_of(
    st.sampled_from(["payment", "acceptance", "cancellation", "auto_complete", "clearance"]).map(
        lambda name: _window(name) + timedelta(seconds=1)
    ),
    st.timedeltas(timedelta(seconds=1), timedelta(days=15)),
)


@dataclass
class Model:
    """What one order should look like, kept from the design alone."""

    id: int
    buyer: User
    seller: User
    stranger: User  # a member who is neither party
    total: int
    price: int
    seller_fee: int
    requires_acceptance: bool
    delivery_days: int
    revisions_left: int
    timer_at: datetime | None
    state: S = S.PENDING_PAYMENT
    auto_complete: bool = True
    due_at: datetime | None = None
    deliveries: list[int] = field(default_factory=list)
    released_early: bool = False
    requester: str = ""
    return_state: str = ""
    proposed: int | None = None
    paused: timedelta | None = None
    refunded: int = 0
    settled: bool = False
    clears_at: datetime | None = None
    cleared: bool = False
    disputes: int = 0
    dispute_open: bool = False
    closed: bool = False  # closed_at stays set when a dispute after completion reopens it
    chargeback_from: str = ""  # the state a won chargeback returns to
    charged_back: bool = False  # a payment is charged back once at most

    def timer_due(self, now: datetime) -> bool:
        return self.timer_at is not None and self.timer_at <= now

    def close_request(self) -> None:
        self.requester, self.return_state, self.proposed = "", "", None


def _snapshot() -> list:
    """Every row a refused move could have touched (raw SQL: this runs thousands of times)."""
    with connection.cursor() as cursor:
        rows = []
        for model in (Order, Account, Dispute, Delivery):
            cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY id")
            rows.append(cursor.fetchall())
        counted = (Event, LedgerTransaction, Entry, DeliveryFile, Message)
        cursor.execute(
            "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {m._meta.db_table})" for m in counted)
        )
        rows.append(cursor.fetchone())
    return rows


class OrdersMachine(RuleBasedStateMachine):
    members: list[User]  # two sellers, then two members who only buy; set by the test
    support: User

    def __init__(self) -> None:
        super().__init__()
        # One transaction per sequence, rolled back in teardown: a clean database, no flush.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._travel = time_machine.travel(START, tick=False)
        self._clock = self._travel.start()
        self.now = START
        self.orders: list[Model] = []
        self.unchanged = False

    def teardown(self) -> None:
        self._travel.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize(specs=st.lists(ORDER_SPEC, min_size=3, max_size=4))
    def place_orders(self, specs: list[dict[str, Any]]) -> None:
        for spec in specs:
            seller = self.members[spec["seller"]]
            others = [u for u in self.members if u != seller]
            buyer = others[spec["buyer"]]
            offer = make_offer(
                seller,
                price=spec["price"],
                currency=spec["currency"],
                revisions=spec["revisions"],
                delivery_days=spec["delivery_days"],
                requires_acceptance=spec["requires_acceptance"],
            )
            order = services.order_place(buyer=buyer, offer_id=offer.pk, answers=["ACME", "red"])
            m = Model(
                id=order.pk,
                buyer=buyer,
                seller=seller,
                stranger=next(u for u in others if u != buyer),
                total=order.total,
                price=order.price,
                seller_fee=order.seller_fee,
                requires_acceptance=spec["requires_acceptance"],
                delivery_days=spec["delivery_days"],
                revisions_left=spec["revisions"],
                timer_at=self.now + _window("payment"),
            )
            self.orders.append(m)
            if spec["paid"]:
                self.do_pay(m, "buyer", None)

    # --- checking one call -----------------------------------------------------------------

    def _user(self, m: Model, who: str) -> User | None:
        people = {"buyer": m.buyer, "seller": m.seller, "support": self.support}
        return people.get(who, m.stranger if who == "stranger" else None)

    def _try(self, m, who, call, *, allowed: bool, refusals=REFUSED) -> bool:
        """Run one service call; a refusal must be expected, typed, and change nothing."""
        before = None if allowed else _snapshot()
        try:
            call(self._user(m, who))
        except HandoverError as exc:
            assert not allowed, f"refused for the {who} on a {m.state} order: {exc.detail}"
            assert isinstance(exc, refusals), f"refused with {exc!r}"
            if who == "stranger" and refusals is REFUSED:
                assert isinstance(exc, NotFound), "a stranger must not learn the order exists"
            assert _snapshot() == before, "a refused move changed the database"
            self.unchanged = True
            return False
        assert allowed, f"allowed for the {who} on a {m.state} order"
        return True

    def _move(self, m, action: Action, who, call, *, target: S | None, refusals=REFUSED) -> bool:
        """A transition: ``target`` is where the design says it leads, None if it refuses it."""
        if not self._try(m, who, call, allowed=target is not None, refusals=refusals):
            return False
        assert target is not None
        if action in (Action.PAY, *CHARGEBACK_STEPS):
            actor = Actor.PROVIDER
        else:
            actor = Actor.TIMER if who in ("timer", "provider") else Actor(who)
        self._check_transition(m, action, actor, target)
        return True

    def _check_transition(self, m: Model, action: Action, actor: Actor, target: S) -> None:
        """The move is a row of the table, and its event was written now."""
        row = TRANSITIONS[action]
        assert m.state in row.sources and actor in row.actors and target in row.targets
        written = Event.objects.filter(order_id=m.id, type=EventType.ORDER_TRANSITION).last()
        assert written is not None and written.created_at == self.now
        assert written.actor_role == actor
        moved = (written.payload["action"], written.payload["from"], written.payload["to"])
        assert moved == (action, m.state, target), f"{moved} recorded for {action} to {target}"
        event(f"{action}: {m.state} -> {target}")  # --hypothesis-show-statistics lists them
        self._enter(m, target, action)

    def _enter(self, m: Model, target: S, action: Action) -> None:
        """The model's timers as the design sets them when an order enters ``target``."""
        if m.state == S.DELIVERED and m.timer_at is not None:
            # Auto-complete pauses while a request or dispute is open.
            m.paused = max(m.timer_at - self.now, timedelta(0))
        resume = m.paused if action != Action.DELIVER else None
        m.timer_at = {
            S.AWAITING_ACCEPTANCE: self.now + _window("acceptance"),
            S.CANCELLATION_REQUESTED: self.now + _window("cancellation"),
            S.DELIVERED: (
                self.now + (resume if resume is not None else _window("auto_complete"))
                if m.auto_complete
                else None
            ),
        }.get(target)
        if target == S.DELIVERED:
            m.paused = None
        m.state = target
        m.closed = m.closed or target in CLOSED

    def _settle(self, m: Model, refund: int) -> None:
        split = shares(total=m.total, price=m.price, seller_fee=m.seller_fee, refund=refund)
        m.refunded, m.settled = refund, True
        m.clears_at = self.now + _window("clearance") if split.seller else None

    @staticmethod
    def _refund(m: Model, data) -> int:
        basis_points = data.draw(REFUND, label="refund basis points")
        return -1 if basis_points < 0 else m.total * basis_points // 10_000

    # --- the moves: each says what the design expects, then checks the service --------------

    def do_pay(self, m: Model, who: str, data) -> None:
        ok = who == "buyer" and m.state == S.PENDING_PAYMENT
        target = S.AWAITING_ACCEPTANCE if m.requires_acceptance else S.IN_PROGRESS

        def call(u):
            return services.order_pay(order_id=m.id, user=u)

        moved = self._move(m, Action.PAY, who, call, target=target if ok else None)
        if moved and target == S.IN_PROGRESS:
            m.due_at = self.now + timedelta(days=m.delivery_days)

    def do_abandon(self, m: Model, who: str, data) -> None:
        timer = who in ("timer", "provider") and m.timer_due(self.now)
        ok = m.state == S.PENDING_PAYMENT and (who == "buyer" or timer)

        def call(u):
            return services.order_abandon(order_id=m.id, user=u)

        self._move(m, Action.ABANDON, who, call, target=S.CANCELLED if ok else None)

    def do_accept_order(self, m: Model, who: str, data) -> None:
        ok = who == "seller" and m.state == S.AWAITING_ACCEPTANCE

        def call(u):
            return services.order_accept_order(order_id=m.id, user=u)

        if self._move(m, Action.ACCEPT_ORDER, who, call, target=S.IN_PROGRESS if ok else None):
            m.due_at = self.now + timedelta(days=m.delivery_days)

    def do_decline_order(self, m: Model, who: str, data) -> None:
        timer = who in ("timer", "provider") and m.timer_due(self.now)
        ok = m.state == S.AWAITING_ACCEPTANCE and (who == "seller" or timer)

        def call(u):
            return services.order_decline_order(order_id=m.id, user=u)

        if self._move(m, Action.DECLINE_ORDER, who, call, target=S.CANCELLED if ok else None):
            self._settle(m, m.total)

    def do_deliver(self, m: Model, who: str, data) -> None:
        ok = who == "seller" and m.state in WORKING  # delivered too: a forgotten file
        upload = SimpleUploadedFile("work.bin", b"w" * data.draw(st.integers(1, 2048)))

        def call(u):
            delivery = order_deliver(order_id=m.id, user=u, text="Here.", files=[upload])
            m.deliveries.append(delivery.pk)
            # The worker makes the preview before the clock moves: auto-complete never waits
            # on it here (test_preview_retry covers the wait).
            for file_id in delivery.files.values_list("pk", flat=True):
                preview_make(file_id=file_id)

        self._move(m, Action.DELIVER, who, call, target=S.DELIVERED if ok else None)

    def do_accept(self, m: Model, who: str, data) -> None:
        timer = who in ("timer", "provider") and m.timer_due(self.now)
        ok = m.state == S.DELIVERED and (who == "buyer" or timer)

        def call(u):
            return services.order_accept(order_id=m.id, user=u)

        if self._move(m, Action.ACCEPT, who, call, target=S.COMPLETED if ok else None):
            self._settle(m, 0)

    def do_request_revision(self, m: Model, who: str, data) -> None:
        ok = who == "buyer" and m.state == S.DELIVERED and m.revisions_left > 0

        def call(u):
            return services.order_request_revision(order_id=m.id, user=u, text="Bigger.")

        target = S.REVISION_REQUESTED if ok else None
        if self._move(m, Action.REQUEST_REVISION, who, call, target=target):
            m.revisions_left -= 1

    def do_grant_revision(self, m: Model, who: str, data) -> None:
        # While a revision can yet be asked for: not before the work starts, not disputed.
        ok = who == "seller" and m.state in (*WORKING, S.CANCELLATION_REQUESTED)

        def call(u):
            return services.order_grant_revision(order_id=m.id, user=u)

        if self._try(m, who, call, allowed=ok):
            m.revisions_left += 1

    def do_cancel_late(self, m: Model, who: str, data) -> None:
        late = m.due_at is not None and self.now > m.due_at and not m.deliveries
        ok = who == "buyer" and m.state == S.IN_PROGRESS and late

        def call(u):
            return services.order_cancel_late(order_id=m.id, user=u)

        if self._move(m, Action.CANCEL_LATE, who, call, target=S.CANCELLED if ok else None):
            self._settle(m, m.total)

    def do_request_cancellation(self, m: Model, who: str, data) -> None:
        refund = self._refund(m, data)
        ok = who in ("buyer", "seller") and m.state in WORKING and refund >= 0
        source = m.state

        def call(u):
            return cancellation.order_request_cancellation(
                order_id=m.id, user=u, text="It is not working out.", refund=refund
            )

        target = S.CANCELLATION_REQUESTED if ok else None
        if self._move(m, Action.REQUEST_CANCELLATION, who, call, target=target):
            m.requester, m.return_state, m.proposed = who, source, refund

    def do_accept_cancellation(self, m: Model, who: str, data) -> None:
        other = who in ("buyer", "seller") and who != m.requester
        ok = m.state == S.CANCELLATION_REQUESTED and other

        def call(u):
            return cancellation.order_accept_cancellation(order_id=m.id, user=u)

        target = S.CANCELLED if ok else None
        if self._move(m, Action.ACCEPT_CANCELLATION, who, call, target=target):
            assert m.proposed is not None
            self._settle(m, m.proposed)
            m.close_request()

    def do_decline_cancellation(self, m: Model, who: str, data) -> None:
        other = who in ("buyer", "seller") and who != m.requester
        ok = m.state == S.CANCELLATION_REQUESTED and other

        def call(u):
            return cancellation.order_decline_cancellation(
                order_id=m.id, user=u, text="The work is done as asked."
            )

        target = S(m.return_state) if ok else None
        if self._move(m, Action.DECLINE_CANCELLATION, who, call, target=target):
            m.close_request()

    def do_withdraw_cancellation(self, m: Model, who: str, data) -> None:
        ok = m.state == S.CANCELLATION_REQUESTED and who == m.requester

        def call(u):
            return cancellation.order_withdraw_cancellation(order_id=m.id, user=u)

        target = S(m.return_state) if ok else None
        if self._move(m, Action.WITHDRAW_CANCELLATION, who, call, target=target):
            m.close_request()

    def do_expire_cancellation(self, m: Model, who: str, data) -> None:
        ok = m.state == S.CANCELLATION_REQUESTED and m.timer_due(self.now)
        target = S.DISPUTED if m.released_early else S.CANCELLED

        def call(u):
            return cancellation_expire(order_id=m.id)

        action = Action.EXPIRE_CANCELLATION
        if self._move(m, action, "timer", call, target=target if ok else None):
            self._expired(m, target)

    def _expired(self, m: Model, target: S) -> None:
        """A buyer who holds originals never wins by silence: then support decides."""
        if target == S.CANCELLED:
            assert m.proposed is not None
            self._settle(m, m.proposed)
        else:
            m.disputes += 1
            m.dispute_open = True
        m.close_request()

    def do_open_dispute(self, m: Model, who: str, data) -> None:
        after_completion = (
            m.state == S.COMPLETED
            and who == "buyer"
            and not m.cleared
            and m.clears_at is not None
            and self.now < m.clears_at
            and not m.disputes
        )
        working = m.state in (*WORKING, S.CANCELLATION_REQUESTED)
        ok = who in ("buyer", "seller") and (working or after_completion)

        def call(u):
            return dispute_open(order_id=m.id, user=u, text="Not as agreed.")

        if self._move(m, Action.OPEN_DISPUTE, who, call, target=S.DISPUTED if ok else None):
            m.disputes += 1
            m.dispute_open = True
            m.close_request()

    def do_decide(self, m: Model, who: str, data) -> None:
        dispute = Dispute.objects.filter(order_id=m.id).order_by("pk").last()
        if dispute is None or who in ("timer", "provider"):
            return  # deciding needs a dispute and a signed-in user
        outcome = data.draw(st.sampled_from(["release", "refund", "split"]), label="outcome")
        refund = self._refund(m, data) if outcome == "split" else None
        amount = {"release": m.refunded, "refund": m.total}.get(outcome, refund)
        assert amount is not None
        valid = outcome != "split" or m.refunded < amount < m.total
        ok = who == "support" and m.dispute_open and m.state == S.DISPUTED and valid
        target = S.CANCELLED if amount == m.total else S.COMPLETED

        def call(u):
            return dispute_decide(
                dispute_id=dispute.pk, user=u, outcome=outcome, refund=refund, text="Read."
            )

        refusals = (PermissionDenied, Conflict, InvalidInput)
        if self._move(
            m, Action.DECIDE, who, call, target=target if ok else None, refusals=refusals
        ):
            m.dispute_open = False
            if not m.settled:
                self._settle(m, amount)
            else:  # a dispute after completion: only the refund can grow
                m.refunded = amount
                m.clears_at = None if amount == m.total else m.clears_at

    def do_chargeback(self, m: Model, who: str, data) -> None:
        # A cancelled order too, when it kept part of the payment.
        kept = m.state in PAID or (m.state == S.CANCELLED and m.settled and m.refunded < m.total)
        ok = kept and who in ("provider", "timer", "support") and not m.charged_back
        source = m.state

        def call(u):
            return chargebacks.order_chargeback(order_id=m.id, user=u)

        if self._move(m, Action.CHARGEBACK, who, call, target=S.CHARGEBACK_HOLD if ok else None):
            m.chargeback_from, m.charged_back = source, True

    def do_chargeback_won(self, m: Model, who: str, data) -> None:
        ok = m.state == S.CHARGEBACK_HOLD and who in ("provider", "timer", "support")
        target = S(m.chargeback_from) if ok else None

        def call(u):
            return chargebacks.order_chargeback_won(order_id=m.id, user=u)

        if self._move(m, Action.CHARGEBACK_WON, who, call, target=target):
            m.chargeback_from = ""

    def do_chargeback_lost(self, m: Model, who: str, data) -> None:
        ok = m.state == S.CHARGEBACK_HOLD and who in ("provider", "timer", "support")

        def call(u):
            return chargebacks.order_chargeback_lost(order_id=m.id, user=u)

        if self._move(m, Action.CHARGEBACK_LOST, who, call, target=S.CHARGED_BACK if ok else None):
            m.chargeback_from, m.clears_at = "", None

    def do_release_early(self, m: Model, who: str, data) -> None:
        ok = who == "seller" and m.state not in LOCKED and bool(m.deliveries)
        delivery_id = m.deliveries[-1] if m.deliveries else 0

        def call(u):
            return delivery_release_early(order_id=m.id, user=u, delivery_id=delivery_id)

        if self._try(m, who, call, allowed=ok):
            m.released_early = True

    def do_set_auto_complete(self, m: Model, who: str, data) -> None:
        enabled = data.draw(st.booleans(), label="enabled")
        # Once paid, while a delivery may yet complete by the timer (never once disputed).
        ok = who == "buyer" and m.state in (
            S.AWAITING_ACCEPTANCE,
            *WORKING,
            S.CANCELLATION_REQUESTED,
        )

        def call(u):
            return services.order_set_auto_complete(order_id=m.id, user=u, enabled=enabled)

        if self._try(m, who, call, allowed=ok) and m.auto_complete != enabled:
            m.auto_complete, m.paused = enabled, None
            if m.state == S.DELIVERED:
                m.timer_at = self.now + _window("auto_complete") if enabled else None

    # --- any move by anyone on any order: mostly refusals ----------------------------------

    @rule(data=st.data(), i=st.integers(0, 3), who=st.sampled_from(ANYONE))
    def wild(self, data, i: int, who: str) -> None:
        move = data.draw(st.sampled_from(sorted({t[0] for t in TARGETED.values()})), label="move")
        getattr(self, f"do_{move}")(self.orders[i % len(self.orders)], who, data)

    # --- money out, the clock and the worker ------------------------------------------------

    @precondition(lambda self: any(m.cleared for m in self.orders))
    @rule(
        member=st.integers(0, 3),
        currency=st.sampled_from(["EUR", "JPY"]),
        basis_points=st.one_of(st.integers(0, 10_000), st.just(10_001)),
    )
    def payout(self, member: int, currency: str, basis_points: int) -> None:
        user = self.members[member]
        account = Account.objects.filter(
            kind=AccountKind.SELLER_AVAILABLE, owner=user, currency=currency
        ).first()
        available = account.balance if account else 0
        amount = available * basis_points // 10_000 if basis_points <= 10_000 else available + 1
        try:
            payout_request(user=user, currency=currency, amount=amount)
        except (Conflict, InvalidInput):
            assert not 1 <= amount <= available, f"payout of {amount} of {available} refused"
            return
        assert 1 <= amount <= available, f"payout of {amount} of {available} allowed"

    @rule(delta=WAIT)
    def wait(self, delta: timedelta) -> None:
        self._clock.shift(delta)
        self.now += delta
        self.unchanged = True

    @precondition(lambda self: self._deadlines())
    @rule(data=st.data(), offset=st.sampled_from([0, 1, 1_000_000]))
    def wait_for_a_deadline(self, data, offset: int) -> None:
        """Jump to a timer, due date or clearance date (plus 0, 1 or 10^6 microseconds)."""
        deadline = data.draw(st.sampled_from(self._deadlines()), label="deadline")
        self.wait(deadline - self.now + timedelta(microseconds=offset))

    def _deadlines(self) -> list[datetime]:
        moments = [t for m in self.orders for t in (m.timer_at, m.due_at, m.clears_at) if t]
        return sorted(t for t in moments if t > self.now)

    @rule()
    def run_timers(self) -> None:
        due = [m for m in self.orders if m.state in TIMER_ACTIONS and m.timer_due(self.now)]
        result = timers_run_due()
        for m in due:
            action = TIMER_ACTIONS[m.state]
            target = {
                Action.ABANDON: S.CANCELLED,
                Action.DECLINE_ORDER: S.CANCELLED,
                Action.ACCEPT: S.COMPLETED,
                Action.EXPIRE_CANCELLATION: S.DISPUTED if m.released_early else S.CANCELLED,
            }[action]
            source = m.state
            self._check_transition(m, action, Actor.TIMER, target)
            if action == Action.EXPIRE_CANCELLATION:
                self._expired(m, target)
            elif source != S.PENDING_PAYMENT:
                self._settle(m, 0 if action == Action.ACCEPT else m.total)
        clearing = [
            m
            for m in self.orders
            if m.state in (S.COMPLETED, S.CANCELLED)
            and not m.cleared
            and m.clears_at is not None
            and m.clears_at <= self.now
        ]
        for m in clearing:
            m.cleared = True
        assert result == {"fired": len(due), "cleared": len(clearing)}

    # --- after every step -------------------------------------------------------------------

    @invariant()
    def after_every_step(self) -> None:
        """The database agrees with the model and the ledger is exact (skipped when the step
        provably changed nothing: a refusal whose snapshot matched, or the clock moving)."""
        if not self.unchanged:
            self._database_matches_model()
            assert_ledger_invariants()
        self.unchanged = False

    def _database_matches_model(self) -> None:
        fields = (
            "state",
            "timer_at",
            "due_at",
            "refunded",
            "settled_at",
            "clears_at",
            "cleared_at",
            "revisions_included",
            "revisions_granted",
            "revisions_used",
            "auto_complete",
            "cancellation_requested_by",
            "return_state",
            "cancellation_refund",
            "closed_at",
            "chargeback_return_state",
        )
        rows = dict(
            (row[0], row[1:])
            for row in Order.objects.filter(pk__in=[m.id for m in self.orders]).values_list(
                "pk", *fields
            )
        )
        for m in self.orders:
            r = dict(zip(fields, rows[m.id], strict=True))
            got = (
                *(r[f] for f in ("state", "timer_at", "due_at", "refunded")),
                r["settled_at"] is not None,
                r["clears_at"],
                r["cleared_at"] is not None,
                r["revisions_included"] + r["revisions_granted"] - r["revisions_used"],
                *(r[f] for f in ("auto_complete", "cancellation_requested_by", "return_state")),
                r["cancellation_refund"],
                r["closed_at"] is not None,
                r["chargeback_return_state"],
            )
            want = (
                *(m.state, m.timer_at, m.due_at, m.refunded, m.settled, m.clears_at, m.cleared),
                *(m.revisions_left, m.auto_complete, m.requester, m.return_state, m.proposed),
                m.closed,
                m.chargeback_from,
            )
            assert got == want, f"order {m.id}: database {got} != model {want}"


# Targeted moves by rule name: the move, the states it starts from and the parties that may make
# it (the timer too where the design lets it act, early or late). Each is a rule enabled only
# while some order is in one of those states, so sequences get deep into the lifecycle.
TARGETED: dict[str, tuple[str, tuple[S, ...], tuple[str, ...]]] = {
    "pay": ("pay", (S.PENDING_PAYMENT,), ("buyer",)),
    "abandon": ("abandon", (S.PENDING_PAYMENT,), ("buyer", "timer", "timer", "timer")),
    "accept_order": ("accept_order", (S.AWAITING_ACCEPTANCE,), ("seller",)),
    "decline_order": ("decline_order", (S.AWAITING_ACCEPTANCE,), ("seller", "timer", "timer")),
    "deliver": ("deliver", WORKING, ("seller",)),
    "accept": ("accept", (S.DELIVERED,), ("buyer", "timer")),
    "request_revision": ("request_revision", (S.DELIVERED,), ("buyer",)),
    "grant_revision": ("grant_revision", (S.DELIVERED,), ("seller",)),
    "cancel_late": ("cancel_late", (S.IN_PROGRESS,), ("buyer",)),
    "request_cancellation": ("request_cancellation", WORKING, ("buyer", "seller")),
    "accept_cancellation": ("accept_cancellation", (S.CANCELLATION_REQUESTED,), BOTH),
    "decline_cancellation": ("decline_cancellation", (S.CANCELLATION_REQUESTED,), BOTH),
    "withdraw_cancellation": ("withdraw_cancellation", (S.CANCELLATION_REQUESTED,), BOTH),
    "expire_cancellation": ("expire_cancellation", (S.CANCELLATION_REQUESTED,), ("timer",)),
    "open_dispute": ("open_dispute", (*WORKING, S.CANCELLATION_REQUESTED), BOTH),
    "dispute_completed": ("open_dispute", (S.COMPLETED,), ("buyer", "buyer", "seller")),
    "decide": ("decide", (S.DISPUTED,), ("support",)),
    "chargeback": ("chargeback", PAID, ("provider", "support")),
    "chargeback_won": ("chargeback_won", (S.CHARGEBACK_HOLD,), ("provider", "support")),
    "chargeback_lost": ("chargeback_lost", (S.CHARGEBACK_HOLD,), ("provider", "support")),
    "release_early": ("release_early", (*WORKING[1:], S.CANCELLATION_REQUESTED), ("seller",)),
    "set_auto_complete": ("set_auto_complete", (S.DELIVERED, S.CANCELLATION_REQUESTED), ("buyer",)),
}


def _targeted(move: str, sources: tuple[S, ...], parties: tuple[str, ...]):
    def candidates(machine: OrdersMachine) -> list[Model]:
        return [m for m in machine.orders if m.state in sources]

    def step(machine: OrdersMachine, data) -> None:
        models = {m.id: m for m in candidates(machine)}
        order_id = data.draw(st.sampled_from(sorted(models)), label="order id")
        who = data.draw(st.sampled_from(parties), label="who")
        getattr(machine, f"do_{move}")(models[order_id], who, data)

    return precondition(lambda machine: bool(candidates(machine)))(rule(data=st.data())(step))


for _name, (_move, _sources, _parties) in TARGETED.items():
    _step = _targeted(_move, _sources, _parties)
    _step.__name__ = _step.__qualname__ = _name
    setattr(OrdersMachine, _name, _step)


def test_random_sequences_keep_the_table_and_the_ledger(transactional_db) -> None:
    OrdersMachine.members = [make_user("seller"), make_user("seller")]
    OrdersMachine.members += [make_user("buyer"), make_user("buyer")]
    OrdersMachine.support = make_user("support", Role.SUPPORT)
    run_state_machine_as_test(
        OrdersMachine,
        settings=settings(
            max_examples=10_000 if SLOW else (500 if connection.vendor == "sqlite" else 250),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
