from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from handover.accounts.models import User
from handover.offers.models import Offer, OfferTerms
from handover.orders.models import Order
from handover.orders.rules import (
    CLOSED,
    TIMER_ACTIONS,
    TRANSITIONS,
    Action,
    Actor,
    OrderFacts,
    State,
    refusal,
)

# Actions a party starts although the table names another actor (the provider captures).
_STARTED_BY = {(Action.PAY, Actor.BUYER)}


def orders_visible_to(user: User) -> QuerySet[Order]:
    from handover.disputes.models import Dispute

    base = Order.objects.select_related("buyer", "seller", "terms").annotate(
        has_dispute=Exists(Dispute.objects.filter(order=OuterRef("pk")))
    )
    if user.is_support:
        return base
    return base.filter(Q(buyer=user) | Q(seller=user))


def viewer_role(order: Order, user: User) -> Actor:
    if user.pk == order.buyer_id:
        return Actor.BUYER
    if user.pk == order.seller_id:
        return Actor.SELLER
    return Actor.SUPPORT


def _has_dispute(order: Order) -> bool:
    annotated = getattr(order, "has_dispute", None)  # set by orders_visible_to: no query
    return order.disputes.exists() if annotated is None else bool(annotated)


def order_facts(order: Order, *, disputed_before: bool = False) -> OrderFacts:
    """What the transition rules need to know about ``order``, as it is now."""
    return OrderFacts(
        state=State(order.state),
        now=timezone.now(),
        due_at=order.due_at,
        deliveries=int(order.last_delivered_at is not None),
        revisions_left=order.revisions_left,
        cancellation_requested_by=(
            Actor(order.cancellation_requested_by) if order.cancellation_requested_by else None
        ),
        timer_at=order.timer_at,
        clears_at=order.clears_at,
        cleared=order.cleared_at is not None,
        disputed_before=disputed_before,
        preview_hold=order.preview_hold,
    )


def available_actions(order: Order, role: Actor) -> list[str]:
    """The API actions ``role`` may take on ``order`` now, as URL slugs."""
    state = State(order.state)
    facts = order_facts(order, disputed_before=state == State.COMPLETED and _has_dispute(order))
    names = []
    for action, rule in TRANSITIONS.items():
        acting = Actor.PROVIDER if (action, role) in _STARTED_BY else role
        if action in (Action.EXPIRE_CANCELLATION, Action.CHARGEBACK, Action.DECIDE):
            continue  # the timer, the provider and the dispute desk have their own routes
        if state not in rule.sources or acting not in rule.actors:
            continue  # refused whatever the target: skip building the reasons
        if any(refusal(facts, action, acting, t) is None for t in rule.targets):
            names.append(action.value.replace("_", "-"))
    if state not in CLOSED:
        if role == Actor.SELLER:
            names.append("grant-revision")
        if role == Actor.BUYER:
            names.append("auto-complete")
    return names


def timer_action(order: Order) -> str | None:
    if order.timer_at is None:
        return None
    action = TIMER_ACTIONS.get(State(order.state))
    return action.value if action else None


# --- Rows the services read before a move and under its lock ---


def _order_rows() -> QuerySet[Order]:
    return Order.objects.select_related("buyer", "seller", "terms")


def order_for_update(order_id: int) -> Order | None:
    """The order, its row locked until the transaction ends, or None. Only the order's row:
    the parties and the terms are read, not locked, so a move never waits on another order's
    move that shares a buyer or seller."""
    return _order_rows().select_for_update(of=("self",)).filter(pk=order_id).first()


def order_read(order_id: int) -> Order | None:
    """The order as ``order_for_update`` reads it, without a lock: for checks made before
    the locked read that decides."""
    return _order_rows().filter(pk=order_id).first()


def offer_to_order(offer_id: int) -> tuple[Offer, OfferTerms] | None:
    """The active offer with its seller, and its current terms; or None."""
    offer = Offer.objects.select_related("seller").filter(pk=offer_id, is_active=True).first()
    if offer is None:
        return None
    terms = offer.terms_versions.order_by("-version").first()
    return None if terms is None else (offer, terms)
