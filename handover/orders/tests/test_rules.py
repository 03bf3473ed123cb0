"""The order rules as plain functions: no database, no clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.orders.rules import (
    CLOSED,
    TIMER_ACTIONS,
    TRANSITIONS,
    Action,
    Actor,
    OrderFacts,
    PreviewHold,
    State,
    Windows,
    refund_bounds_error,
    refusal,
    timer_for,
)

S, A, X = State, Action, Actor
NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
WINDOWS = Windows(
    payment=timedelta(hours=1),
    acceptance=timedelta(hours=24),
    auto_complete=timedelta(days=3),
    cancellation=timedelta(hours=48),
)
WORKING = {S.IN_PROGRESS, S.REVISION_REQUESTED, S.DELIVERED}
# A card payment can be charged back from any paid state, and from a cancelled order that
# kept part of it; a won chargeback returns there.
PAID = {S.AWAITING_ACCEPTANCE, *WORKING, S.CANCELLATION_REQUESTED, S.DISPUTED, S.COMPLETED}
CHARGEABLE = {*PAID, S.CANCELLED}

# DESIGN.md section 2, written out again by hand: (sources, actors, targets) per action.
DESIGN_TABLE = {
    A.PAY: ({S.PENDING_PAYMENT}, {X.PROVIDER}, {S.AWAITING_ACCEPTANCE, S.IN_PROGRESS}),
    A.ABANDON: ({S.PENDING_PAYMENT}, {X.BUYER, X.TIMER}, {S.CANCELLED}),
    A.ACCEPT_ORDER: ({S.AWAITING_ACCEPTANCE}, {X.SELLER}, {S.IN_PROGRESS}),
    A.DECLINE_ORDER: ({S.AWAITING_ACCEPTANCE}, {X.SELLER, X.TIMER}, {S.CANCELLED}),
    # Delivered too: a forgotten file added before the buyer accepts (issue 13).
    A.DELIVER: (WORKING, {X.SELLER}, {S.DELIVERED}),
    A.ACCEPT: ({S.DELIVERED}, {X.BUYER, X.TIMER}, {S.COMPLETED}),
    A.REQUEST_REVISION: ({S.DELIVERED}, {X.BUYER}, {S.REVISION_REQUESTED}),
    A.CANCEL_LATE: ({S.IN_PROGRESS}, {X.BUYER}, {S.CANCELLED}),
    A.REQUEST_CANCELLATION: (WORKING, {X.BUYER, X.SELLER}, {S.CANCELLATION_REQUESTED}),
    A.ACCEPT_CANCELLATION: ({S.CANCELLATION_REQUESTED}, {X.BUYER, X.SELLER}, {S.CANCELLED}),
    A.DECLINE_CANCELLATION: ({S.CANCELLATION_REQUESTED}, {X.BUYER, X.SELLER}, WORKING),
    A.WITHDRAW_CANCELLATION: ({S.CANCELLATION_REQUESTED}, {X.BUYER, X.SELLER}, WORKING),
    A.EXPIRE_CANCELLATION: ({S.CANCELLATION_REQUESTED}, {X.TIMER}, {S.CANCELLED, S.DISPUTED}),
    A.SETTLE_CANCELLATION: ({S.CANCELLATION_REQUESTED}, {X.SUPPORT}, WORKING | {S.CANCELLED}),
    A.OPEN_DISPUTE: (
        WORKING | {S.CANCELLATION_REQUESTED, S.COMPLETED},
        {X.BUYER, X.SELLER, X.SUPPORT},
        {S.DISPUTED},
    ),
    A.DECIDE: ({S.DISPUTED}, {X.SUPPORT}, {S.COMPLETED, S.CANCELLED}),
    A.CHARGEBACK: (CHARGEABLE, {X.PROVIDER}, {S.CHARGEBACK_HOLD}),
    A.CHARGEBACK_WON: ({S.CHARGEBACK_HOLD}, {X.PROVIDER}, CHARGEABLE),
    A.CHARGEBACK_LOST: ({S.CHARGEBACK_HOLD}, {X.PROVIDER}, {S.CHARGED_BACK}),
}


def facts(state: State, **overrides) -> OrderFacts:
    return OrderFacts(state=state, now=NOW, **overrides)


def test_table_is_the_design_table():
    assert set(TRANSITIONS) == set(Action)
    for action, (sources, actors, targets) in DESIGN_TABLE.items():
        rule = TRANSITIONS[action]
        assert (rule.sources, rule.actors, rule.targets) == (sources, actors, targets), action


def test_every_timer_action_is_a_timer_move_from_its_state():
    for state, action in TIMER_ACTIONS.items():
        assert state in TRANSITIONS[action].sources
        assert X.TIMER in TRANSITIONS[action].actors
    timed = {(s, a) for a, r in TRANSITIONS.items() if X.TIMER in r.actors for s in r.sources}
    assert timed == {(s, a) for s, a in TIMER_ACTIONS.items()}


def test_closed_orders_leave_only_by_chargeback_or_a_dispute_after_completion():
    leaving = {(s, a) for a, r in TRANSITIONS.items() for s in r.sources if s in CLOSED}
    assert leaving == {
        (S.COMPLETED, A.CHARGEBACK),
        (S.CANCELLED, A.CHARGEBACK),
        (S.COMPLETED, A.OPEN_DISPUTE),
    }


def test_move_from_a_state_outside_the_table_is_refused_first():
    reason = refusal(facts(S.COMPLETED), A.DELIVER, X.BUYER, S.DELIVERED)
    assert reason == "deliver is not possible while the order is completed"


def test_actor_outside_the_table_is_refused():
    reason = refusal(facts(S.DELIVERED), A.ACCEPT, X.SELLER, S.COMPLETED)
    assert reason == "the seller cannot accept this order"


def test_target_outside_the_table_is_refused():
    reason = refusal(facts(S.DELIVERED), A.ACCEPT, X.BUYER, S.CANCELLED)
    assert reason == "accept cannot lead to cancelled"


@pytest.mark.parametrize(
    ("timer_at", "allowed"),
    [(None, False), (NOW + timedelta(seconds=1), False), (NOW, True), (NOW - timedelta(1), True)],
    ids=["no_timer", "not_yet", "exactly_now", "past"],
)
@pytest.mark.parametrize(("state", "action"), list(TIMER_ACTIONS.items()))
def test_timer_moves_only_once_timer_at_has_passed(state, action, timer_at, allowed):
    target = sorted(TRANSITIONS[action].targets)[0]
    reason = refusal(facts(state, timer_at=timer_at), action, X.TIMER, target)
    assert (reason is None) == allowed
    if not allowed:
        assert reason == "the order's timer has not run out"


@pytest.mark.parametrize("hold", [PreviewHold.PENDING, PreviewHold.FAILED])
def test_auto_complete_waits_while_a_preview_is_not_shown_but_the_buyer_may_accept(hold):
    held = facts(S.DELIVERED, timer_at=NOW - timedelta(days=1), preview_hold=hold)
    reason = refusal(held, A.ACCEPT, X.TIMER, S.COMPLETED)
    assert reason == f"auto-complete waits: {hold.label}"
    assert refusal(held, A.ACCEPT, X.BUYER, S.COMPLETED) is None
    assert (
        refusal(replace(held, preview_hold=PreviewHold.NONE), A.ACCEPT, X.TIMER, S.COMPLETED)
        is None
    )


def test_a_party_does_not_wait_for_the_timer():
    late_timer = facts(S.DELIVERED, timer_at=NOW + timedelta(days=3))
    assert refusal(late_timer, A.ACCEPT, X.BUYER, S.COMPLETED) is None


@pytest.mark.parametrize(
    ("due_at", "deliveries", "allowed"),
    [
        (None, 0, False),
        (NOW + timedelta(seconds=1), 0, False),
        (NOW, 0, False),
        (NOW - timedelta(seconds=1), 0, True),
        (NOW - timedelta(days=9), 1, False),
    ],
    ids=["no_due_date", "not_yet_due", "due_now", "past_due", "past_due_but_delivered"],
)
def test_cancel_late_only_past_due_with_nothing_delivered(due_at, deliveries, allowed):
    f = facts(S.IN_PROGRESS, due_at=due_at, deliveries=deliveries)
    assert (refusal(f, A.CANCEL_LATE, X.BUYER, S.CANCELLED) is None) == allowed


@pytest.mark.parametrize(("left", "allowed"), [(-1, False), (0, False), (1, True), (5, True)])
def test_request_revision_only_with_revisions_left(left, allowed):
    f = facts(S.DELIVERED, revisions_left=left)
    reason = refusal(f, A.REQUEST_REVISION, X.BUYER, S.REVISION_REQUESTED)
    assert (reason is None) == allowed


@pytest.mark.parametrize("asker", [X.BUYER, X.SELLER])
@pytest.mark.parametrize("answer", [A.ACCEPT_CANCELLATION, A.DECLINE_CANCELLATION])
def test_only_the_other_party_answers_a_cancellation_request(asker, answer):
    other = X.SELLER if asker == X.BUYER else X.BUYER
    f = facts(S.CANCELLATION_REQUESTED, cancellation_requested_by=asker)
    target = S.CANCELLED if answer == A.ACCEPT_CANCELLATION else S.IN_PROGRESS
    assert refusal(f, answer, asker, target) == "the other party answers a cancellation request"
    assert refusal(f, answer, other, target) is None


@pytest.mark.parametrize("asker", [X.BUYER, X.SELLER])
def test_only_the_asker_withdraws_a_cancellation_request(asker):
    other = X.SELLER if asker == X.BUYER else X.BUYER
    f = facts(S.CANCELLATION_REQUESTED, cancellation_requested_by=asker)
    assert refusal(f, A.WITHDRAW_CANCELLATION, asker, S.DELIVERED) is None
    assert refusal(f, A.WITHDRAW_CANCELLATION, other, S.DELIVERED) == (
        "only the party who asked can withdraw a cancellation request"
    )


COMPLETED = facts(S.COMPLETED, clears_at=NOW + timedelta(days=14))


@pytest.mark.parametrize(
    ("change", "actor", "reason"),
    [
        ({}, X.BUYER, None),
        ({}, X.SELLER, "after completion only the buyer can open a dispute"),
        ({"clears_at": NOW}, X.BUYER, "the clearance window for disputes has ended"),
        ({"clears_at": None}, X.BUYER, "the clearance window for disputes has ended"),
        ({"cleared": True}, X.BUYER, "the clearance window for disputes has ended"),
        ({"disputed_before": True}, X.BUYER, "this order has had a dispute decided already"),
    ],
    ids=["buyer_in_time", "seller", "window_ended", "nothing_to_clear", "cleared", "second"],
)
def test_dispute_after_completion(change, actor, reason):
    assert refusal(replace(COMPLETED, **change), A.OPEN_DISPUTE, actor, S.DISPUTED) == reason


@pytest.mark.parametrize("state", sorted(WORKING | {S.CANCELLATION_REQUESTED}))
@pytest.mark.parametrize("actor", [X.BUYER, X.SELLER])
def test_either_party_disputes_an_open_order_whatever_the_clearance(state, actor):
    f = facts(state, clears_at=None, cleared=True, disputed_before=True)
    assert refusal(f, A.OPEN_DISPUTE, actor, S.DISPUTED) is None


@given(
    state=st.sampled_from(State),
    action=st.sampled_from(Action),
    actor=st.sampled_from(Actor),
    target=st.sampled_from(State),
    shift=st.integers(-(10**6), 10**6),
    revisions_left=st.integers(-2, 3),
    asker=st.sampled_from([None, X.BUYER, X.SELLER]),
    flags=st.tuples(st.booleans(), st.booleans(), st.integers(0, 1)),
)
def test_nothing_outside_the_table_is_ever_allowed(
    state, action, actor, target, shift, revisions_left, asker, flags
):
    at = NOW + timedelta(seconds=shift)
    cleared, disputed_before, deliveries = flags
    f = OrderFacts(
        state=state,
        now=NOW,
        due_at=at,
        deliveries=deliveries,
        revisions_left=revisions_left,
        cancellation_requested_by=asker,
        timer_at=at,
        clears_at=at,
        cleared=cleared,
        disputed_before=disputed_before,
    )
    if refusal(f, action, actor, target) is None:
        rule = TRANSITIONS[action]
        assert state in rule.sources and actor in rule.actors and target in rule.targets


# --- Timers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (S.PENDING_PAYMENT, WINDOWS.payment),
        (S.AWAITING_ACCEPTANCE, WINDOWS.acceptance),
        (S.CANCELLATION_REQUESTED, WINDOWS.cancellation),
        (S.DELIVERED, WINDOWS.auto_complete),
    ],
)
def test_timed_states_get_their_window(state, after):
    assert timer_for(state, now=NOW, windows=WINDOWS, auto_complete=True) == NOW + after


@pytest.mark.parametrize("state", sorted(set(State) - set(TIMER_ACTIONS)))
def test_other_states_have_no_timer(state):
    assert timer_for(state, now=NOW, windows=WINDOWS, auto_complete=True) is None


def test_no_auto_complete_timer_when_switched_off():
    assert timer_for(S.DELIVERED, now=NOW, windows=WINDOWS, auto_complete=False) is None


def test_switching_auto_complete_off_leaves_the_other_timers():
    for state in (S.PENDING_PAYMENT, S.AWAITING_ACCEPTANCE, S.CANCELLATION_REQUESTED):
        assert timer_for(state, now=NOW, windows=WINDOWS, auto_complete=False) is not None


@pytest.mark.parametrize(
    "remaining", [timedelta(0), timedelta(hours=7), timedelta(days=3)], ids=str
)
def test_paused_auto_complete_resumes_with_the_time_that_was_left(remaining):
    resumed = timer_for(
        S.DELIVERED, now=NOW, windows=WINDOWS, auto_complete=True, paused_remaining=remaining
    )
    assert resumed == NOW + remaining


def test_paused_time_does_not_restart_a_switched_off_auto_complete():
    resumed = timer_for(
        S.DELIVERED, now=NOW, windows=WINDOWS, auto_complete=False, paused_remaining=timedelta(1)
    )
    assert resumed is None


def test_paused_time_only_applies_to_delivered():
    paused = timedelta(minutes=5)
    for state in (S.PENDING_PAYMENT, S.AWAITING_ACCEPTANCE, S.CANCELLATION_REQUESTED):
        timer = timer_for(
            state, now=NOW, windows=WINDOWS, auto_complete=True, paused_remaining=paused
        )
        assert timer is not None and timer - NOW > paused


# --- Refund bounds ---------------------------------------------------------------------------


@pytest.mark.parametrize(("refund", "ok"), [(-1, False), (0, True), (10550, True), (10551, False)])
def test_refund_is_between_zero_and_the_total(refund, ok):
    error = refund_bounds_error(refund, 10550)
    assert (error is None) == ok
    if not ok:
        assert error == "the refund must be between 0 and the order's total of 10550"


def test_a_payment_is_charged_back_once_a_won_chargeback_cannot_be_repeated():
    assert refusal(facts(S.COMPLETED), A.CHARGEBACK, X.PROVIDER, S.CHARGEBACK_HOLD) is None
    again = facts(S.COMPLETED, charged_back_before=True)
    reason = refusal(again, A.CHARGEBACK, X.PROVIDER, S.CHARGEBACK_HOLD)
    assert reason == "this order's payment was charged back once already"


def test_a_cancelled_order_is_charged_back_only_when_it_kept_part_of_the_payment():
    for kept in (0, -1):
        reason = refusal(facts(S.CANCELLED, kept=kept), A.CHARGEBACK, X.PROVIDER, S.CHARGEBACK_HOLD)
        assert reason == "the order kept nothing of the payment to take back"
    part_kept = facts(S.CANCELLED, kept=1)
    assert refusal(part_kept, A.CHARGEBACK, X.PROVIDER, S.CHARGEBACK_HOLD) is None


def test_a_won_chargeback_returns_to_any_paid_state_and_a_lost_one_closes_the_order():
    for state in PAID:
        assert refusal(facts(S.CHARGEBACK_HOLD), A.CHARGEBACK_WON, X.PROVIDER, state) is None
    assert S.CHARGEBACK_HOLD not in CLOSED and S.CHARGED_BACK in CLOSED
    reason = refusal(facts(S.CHARGEBACK_HOLD), A.CHARGEBACK_LOST, X.SUPPORT, S.CHARGED_BACK)
    assert reason == "the support cannot chargeback_lost this order"
