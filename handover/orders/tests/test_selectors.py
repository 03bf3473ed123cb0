"""The actions an answer offers are exactly those the transition table and its guards allow."""

from datetime import timedelta

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from handover.orders.models import Order
from handover.orders.rules import TRANSITIONS, Action, Actor, State, refusal
from handover.orders.selectors import _STARTED_BY, available_actions, order_facts

NOW = timezone.now()
times = st.sampled_from([None, NOW - timedelta(days=1), NOW + timedelta(days=1)])


def allowed_by_the_table(order: Order, role: Actor) -> list[str]:
    """available_actions without its shortcut: every action, every target, asked of refusal."""
    facts = order_facts(order, disputed_before=bool(order.has_dispute))  # type: ignore[attr-defined]
    names = [
        action.value.replace("_", "-")
        for action, rule in TRANSITIONS.items()
        # The timer, the provider and the support desk have their own routes.
        if action
        not in (
            Action.EXPIRE_CANCELLATION,
            Action.CHARGEBACK,
            Action.DECIDE,
            Action.SETTLE_CANCELLATION,
        )
        and not (role == Actor.SUPPORT and action == Action.OPEN_DISPUTE)
        and any(
            refusal(facts, action, Actor.PROVIDER if (action, role) in _STARTED_BY else role, t)
            is None
            for t in rule.targets
        )
    ]
    # The settings, in the states where they can still matter (rules.SETTINGS).
    working = (State.IN_PROGRESS, State.REVISION_REQUESTED, State.DELIVERED)
    if role == Actor.SELLER and order.state in (*working, State.CANCELLATION_REQUESTED):
        names.append("grant-revision")
    paid = (State.AWAITING_ACCEPTANCE, *working, State.CANCELLATION_REQUESTED)
    if role == Actor.BUYER and order.state in paid:
        names.append("auto-complete")
    return names


@given(
    state=st.sampled_from(State),
    role=st.sampled_from([Actor.BUYER, Actor.SELLER, Actor.SUPPORT]),
    due_at=times,
    clears_at=times,
    delivered=st.booleans(),
    revisions_used=st.integers(0, 2),
    requested_by=st.sampled_from(["", Actor.BUYER, Actor.SELLER]),
    has_dispute=st.booleans(),
)
def test_the_actions_offered_are_those_the_rules_allow(
    state, role, due_at, clears_at, delivered, revisions_used, requested_by, has_dispute
):
    order = Order(
        state=state,
        due_at=due_at,
        clears_at=clears_at,
        last_delivered_at=NOW if delivered else None,
        revisions_included=1,
        revisions_used=revisions_used,
        cancellation_requested_by=requested_by,
    )
    order.has_dispute = has_dispute  # type: ignore[attr-defined]  # as orders_visible_to sets it
    assert available_actions(order, role) == allowed_by_the_table(order, role)
