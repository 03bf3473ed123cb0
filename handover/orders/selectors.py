import re
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from handover.accounts.models import User
from handover.accounts.services import email_verified_check
from handover.lib.bounds import id_in_range
from handover.lib.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from handover.offers.models import Offer, OfferTerms
from handover.orders.models import Order
from handover.orders.references import attachments_check
from handover.orders.rules import (
    TIMER_ACTIONS,
    TRANSITIONS,
    Action,
    Actor,
    OrderFacts,
    Setting,
    State,
    refusal,
    setting_refusal,
)
from handover.trust.models import Review
from handover.trust.rules import review_window_ends, reviews_visible
from handover.trust.selectors import user_suspended

# Actions a party starts although the table names another actor (the provider captures).
_STARTED_BY = {(Action.PAY, Actor.BUYER)}
_OWN_ROUTES = {
    Action.EXPIRE_CANCELLATION,
    Action.CHARGEBACK,
    Action.CHARGEBACK_WON,
    Action.CHARGEBACK_LOST,
    Action.DECIDE,
    Action.SETTLE_CANCELLATION,
}
# Providers whose chargebacks reach Handover by themselves (Stripe's dispute events): support
# does not record theirs.
REPORTING_PROVIDERS = frozenset({"stripe"})
# What support may do on an order from the support desk: the move each is, and the actor
# the table names for it (support records the provider's word, or acts for a party).
SUPPORT_ACTIONS: dict[str, tuple[Action, tuple[Actor, ...]]] = {
    "confirm-payment": (Action.PAY, (Actor.PROVIDER,)),
    "chargeback": (Action.CHARGEBACK, (Actor.PROVIDER,)),
    "chargeback-won": (Action.CHARGEBACK_WON, (Actor.PROVIDER,)),
    "chargeback-lost": (Action.CHARGEBACK_LOST, (Actor.PROVIDER,)),
    "settle-cancellation": (Action.SETTLE_CANCELLATION, (Actor.SUPPORT,)),
    "open-dispute": (Action.OPEN_DISPUTE, (Actor.BUYER, Actor.SELLER)),
}


def orders_visible_to(user: User) -> QuerySet[Order]:
    # Through the disputes' relation to the order: orders does not import disputes.
    disputed = Order.objects.filter(pk=OuterRef("pk"), disputes__isnull=False)
    base = Order.objects.select_related("buyer", "seller", "terms").annotate(
        has_dispute=Exists(disputed)
    )
    if user.is_support:
        return base
    return base.filter(Q(buyer=user) | Q(seller=user))


def order_visible(*, order_id: int, user: User) -> Order:
    """The order if ``user`` may see it; to anyone else it does not exist (``NotFound``)."""
    order = orders_visible_to(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


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
        kept=order.total - order.refunded if order.paid_at is not None else 0,
    )


def available_actions(order: Order, role: Actor) -> list[str]:
    """The API actions ``role`` may take on ``order`` now, as URL slugs."""
    state = State(order.state)
    facts = order_facts(order, disputed_before=state == State.COMPLETED and _has_dispute(order))
    names = []
    for action, rule in TRANSITIONS.items():
        acting = Actor.PROVIDER if (action, role) in _STARTED_BY else role
        if action in _OWN_ROUTES or (role == Actor.SUPPORT and action == Action.OPEN_DISPUTE):
            continue  # the timer, the provider and the support desk have their own routes
        if state not in rule.sources or acting not in rule.actors:
            continue  # refused whatever the target: skip building the reasons
        if any(refusal(facts, action, acting, t) is None for t in rule.targets):
            names.append(action.value.replace("_", "-"))
    names += [
        setting.value.replace("_", "-")
        for setting in Setting
        if setting_refusal(setting, state, role) is None
    ]
    return names


def support_actions(order: Order) -> list[str]:
    """The support desk's actions the table and its guards allow on ``order`` now, as URL
    slugs; a transfer is confirmed only on an order that waits for one (``manual``)."""
    state = State(order.state)
    facts = order_facts(order, disputed_before=state == State.COMPLETED and _has_dispute(order))
    names = []
    for name, (action, actors) in SUPPORT_ACTIONS.items():
        if name == "confirm-payment" and order.payment_provider != "manual":
            continue
        if name.startswith("chargeback") and order.payment_provider in REPORTING_PROVIDERS:
            continue  # the provider reports its chargebacks itself
        targets = TRANSITIONS[action].targets
        if any(refusal(facts, action, a, t) is None for a in actors for t in targets):
            names.append(name)
    return names


def parties_for_dispute(order: Order) -> list[Actor]:
    """The parties on whose behalf support may open a dispute on ``order`` now."""
    state = State(order.state)
    facts = order_facts(order, disputed_before=state == State.COMPLETED and _has_dispute(order))
    return [
        party
        for party in (Actor.BUYER, Actor.SELLER)
        if refusal(facts, Action.OPEN_DISPUTE, party, State.DISPUTED) is None
    ]


def manual_payments_waiting() -> QuerySet[Order]:
    """Orders whose buyer was given transfer details and which wait for support to see the
    money arrive (the ``manual`` provider)."""
    return Order.objects.filter(
        state=State.PENDING_PAYMENT, payment_provider="manual", payment_reference__gt=""
    )


def cancellations_past_window(now: datetime) -> QuerySet[Order]:
    """Open cancellation requests whose response window has run out unanswered: the worker
    settles them, so one waiting here means the worker is behind or support is needed."""
    return Order.objects.filter(state=State.CANCELLATION_REQUESTED, timer_at__lte=now)


def orders_matching(text: str) -> Q:
    """Orders by number (``12`` or ``#12``), a party's username or e-mail (any part of it),
    or the transfer reference; the text reaches the database as a parameter, never as SQL."""
    number = text.removeprefix("#")
    if re.fullmatch(r"[0-9]+", number):
        # A number is an order's: not every username with those digits somewhere in it.
        named = Q(buyer__username__iexact=text) | Q(seller__username__iexact=text)
        return named | Q(pk=int(number)) if id_in_range(int(number)) else named
    return (
        Q(buyer__username__icontains=text)
        | Q(seller__username__icontains=text)
        | Q(buyer__email__icontains=text)
        | Q(seller__email__icontains=text)
        | Q(payment_reference__iexact=text)
    )


def due_timer_ids(now: datetime, limit: int = 500) -> list[int]:
    """The orders whose timer has run out, the longest overdue first."""
    return list(
        Order.objects.filter(timer_at__lte=now, state__in=list(TIMER_ACTIONS))
        # Held until its previews are shown: not picked again every sweep meanwhile.
        .exclude(state=State.DELIVERED, preview_hold__gt="")
        .order_by("timer_at")
        .values_list("pk", flat=True)[:limit]
    )


def due_clearance_ids(now: datetime, limit: int = 500) -> list[int]:
    """The settled orders whose seller's earnings clear now, the longest waiting first."""
    return list(
        Order.objects.filter(
            clears_at__lte=now,
            cleared_at__isnull=True,
            state__in=[State.COMPLETED, State.CANCELLED],
        )
        .order_by("clears_at")
        .values_list("pk", flat=True)[:limit]
    )


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


def order_reviews_for(
    *, order_id: int, user: User, now: datetime
) -> tuple[list[Review], list[str], datetime | None]:
    """The order's reviews ``user`` may read, the roles whose review is in but hidden from
    them, and when the review window ends. A party always reads its own review and the
    other's once ``trust.rules.reviews_visible``; support (not a party) reads all."""
    order = Order.objects.filter(pk=order_id).first()
    party = order is not None and user.pk in (order.buyer_id, order.seller_id)
    if order is None or not (party or user.is_support):
        raise NotFound("No such order.")  # as for every order a user may not see
    reviews = list(Review.objects.filter(order=order).select_related("author", "subject"))
    visible = not party or reviews_visible(
        both_in=len(reviews) == 2, closed_at=order.closed_at, now=now
    )
    shown = [r for r in reviews if visible or r.author_id == user.pk]
    hidden = [r.author_role for r in reviews if r not in shown]
    return shown, hidden, review_window_ends(order.closed_at) if order.closed_at else None


def role_of(order: Order, user: User | None) -> Actor:
    """How ``user`` takes part in ``order``; a stranger is told the order does not exist."""
    if user is not None:
        if user.pk == order.buyer_id:
            return Actor.BUYER
        if user.pk == order.seller_id:
            return Actor.SELLER
        if user.is_support:
            return Actor.SUPPORT
    raise NotFound("No such order.")


# Checks an upload of reference files passes before its first byte is stored; the services
# make them again under the order's lock.


def order_place_precheck(*, buyer: User, offer_id: int) -> None:
    """Raise what ``order_place`` would for this buyer and offer whatever the answers: an
    upload of reference files is refused before its first byte is stored."""
    offer_terms = offer_to_order(offer_id)
    if offer_terms is None:
        raise NotFound("No such offer.")
    email_verified_check(buyer)
    if offer_terms[0].seller_id == buyer.pk:
        raise InvalidInput("You cannot order your own offer.", code="own_offer")
    if user_suspended(offer_terms[0].seller_id):
        # The stranger is not told why: a suspension is between the seller and support.
        raise Conflict("This offer is not taking orders now.", code="offer_unavailable")


def order_answers_precheck(*, order_id: int, user: User) -> None:
    """Raise what ``order_update_answers`` would whatever the answers: an upload of
    reference files is refused before its first byte is stored."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    answers_open_check(order, user)


def answers_open_check(order: Order, user: User) -> None:
    if role_of(order, user) != Actor.BUYER:
        raise TransitionNotAllowed("Only the buyer answers the requirements.")
    if order.state != State.PENDING_PAYMENT:
        raise Conflict("The requirements are frozen once the order is paid.", code="frozen")


def message_precheck(*, order_id: int, user: User) -> None:
    """Raise what ``message_post`` would for files from ``user``: an upload is refused
    before its first byte is stored."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    attachments_check(role_of(order, user), 1)
