"""Offers, and orders in any state reached through the real services the way their parties
would.

    order = order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
    order = order_in_state(
        State.CANCELLATION_REQUESTED, buyer=buyer, seller=seller, support=support,
        from_state=State.DELIVERED, requested_by=Actor.SELLER, refund=0,
    )

Every step is a service call, so each order carries the events and ledger rows a real one
would. No step moves the clock: call it inside ``time_machine.travel`` to fix the dates.
"""

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from handover.accounts.models import User
from handover.delivery.previewing import preview_make
from handover.delivery.services import delivery_release_early, order_deliver
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide, dispute_open
from handover.offers.models import Offer
from handover.offers.services import OfferFields, offer_create
from handover.orders import cancellation, chargebacks, services
from handover.orders.models import Order
from handover.orders.rules import Actor, State


def offer_body(**overrides: Any) -> dict[str, Any]:
    """The fields of a valid offer, as the API takes them and ``OfferFields`` holds them."""
    return {
        "title": "Logo design",
        "description": "A logo in three concepts.",
        "price": 10000,
        "currency": "EUR",
        "delivery_days": 3,
        "revisions": 1,
        "terms": "Terms v1: the buyer gets a licence on completion.",
        "requirements": ["Company name?", "Colours?"],
        "requires_acceptance": False,
        **overrides,
    }


def make_offer(seller: User, **overrides: Any) -> Offer:
    return offer_create(seller=seller, fields=OfferFields(**offer_body(**overrides)))


@pytest.fixture
def offer(seller) -> Offer:
    return make_offer(seller)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 30)).save(out, "PNG")
    return out.getvalue()


_PNG = _png()

# Where each state is reached from when the caller does not say (``from_state``).
DEFAULT_FROM: dict[State, State] = {
    State.CANCELLATION_REQUESTED: State.IN_PROGRESS,
    State.DISPUTED: State.IN_PROGRESS,
    State.COMPLETED: State.DELIVERED,
    State.CANCELLED: State.CANCELLATION_REQUESTED,
}
# The states each of those may be reached from.
ALLOWED_FROM: dict[State, tuple[State, ...]] = {
    State.CANCELLATION_REQUESTED: (State.IN_PROGRESS, State.REVISION_REQUESTED, State.DELIVERED),
    State.DISPUTED: (
        State.IN_PROGRESS,
        State.REVISION_REQUESTED,
        State.DELIVERED,
        State.CANCELLATION_REQUESTED,
        State.COMPLETED,
    ),
    State.COMPLETED: (State.DELIVERED, State.DISPUTED),
    # A card payment is charged back from any paid state.
    State.CHARGEBACK_HOLD: (
        State.AWAITING_ACCEPTANCE,
        State.IN_PROGRESS,
        State.REVISION_REQUESTED,
        State.DELIVERED,
        State.CANCELLATION_REQUESTED,
        State.DISPUTED,
        State.COMPLETED,
    ),
    State.CANCELLED: (
        State.PENDING_PAYMENT,
        State.AWAITING_ACCEPTANCE,
        State.CANCELLATION_REQUESTED,
        State.DISPUTED,
    ),
}


def order_in_state(
    state: State,
    *,
    buyer: User,
    seller: User,
    support: User,
    offer: Offer | None = None,
    from_state: State | None = None,
    requested_by: Actor = Actor.BUYER,
    refund: int | None = None,
    released_early: bool = False,
) -> Order:
    """An order of ``offer`` (a fresh one of ``seller`` by default) that has reached ``state``.

    - ``from_state``: the state the last move left, where a state has several ways in:
      cancellation_requested from in_progress (default), revision_requested or delivered;
      disputed from in_progress (default), revision_requested, delivered,
      cancellation_requested or completed (a dispute after completion, opened by the buyer);
      completed from delivered (the buyer accepts; default) or disputed (support releases);
      cancelled from cancellation_requested (the other party agrees; default),
      pending_payment (the buyer abandons), awaiting_acceptance (the seller declines) or
      disputed (support refunds).
    - ``requested_by``: who asks to cancel, wherever a cancellation request is on the way;
      the other party accepts it on the way to cancelled. Disputes are opened by the buyer.
    - ``refund``: the refund that request proposes; the order's total by default.
    - ``released_early``: the seller releases the delivery's originals early, wherever
      a delivery is on the way.
    Awaiting_acceptance needs an offer that requires acceptance; a fresh offer does when
    the order is to pass through that state. On the way to revision_requested the seller
    first grants a revision if the offer includes none.
    """
    state = State(state)
    if from_state is not None and from_state not in ALLOWED_FROM.get(state, ()):
        raise ValueError(f"{state} cannot be reached from {from_state}")
    needs_acceptance = State.AWAITING_ACCEPTANCE in (state, from_state)
    if offer is None:
        offer = make_offer(seller, requires_acceptance=needs_acceptance)
    elif needs_acceptance and not offer.requires_acceptance:
        raise ValueError("awaiting_acceptance needs an offer that requires acceptance")
    steps = _Steps(buyer, seller, support, requested_by, refund, released_early)
    order = services.order_place(
        buyer=buyer, offer_id=offer.pk, answers=[f"Answer to {q}" for q in offer.requirements]
    )
    steps.reach(order.pk, state, from_state)
    if released_early and not cancellation.originals_released(order):
        raise ValueError(f"no delivery on the way to {state} to release early")
    order.refresh_from_db()
    assert order.state == state, (order.state, state)
    return order


@dataclass
class _Steps:
    buyer: User
    seller: User
    support: User
    requested_by: Actor
    refund: int | None
    released_early: bool

    def party(self, actor: Actor) -> User:
        return self.buyer if actor == Actor.BUYER else self.seller

    def reach(self, order_id: int, state: State, from_state: State | None = None) -> None:
        source = from_state or DEFAULT_FROM.get(state)
        getattr(self, f"_to_{state.value}")(order_id, source)

    def _to_pending_payment(self, order_id: int, source: State | None) -> None:
        pass

    def _to_awaiting_acceptance(self, order_id: int, source: State | None) -> None:
        services.order_pay(order_id=order_id, user=self.buyer)

    def _to_in_progress(self, order_id: int, source: State | None) -> None:
        services.order_pay(order_id=order_id, user=self.buyer)
        if Order.objects.get(pk=order_id).state == State.AWAITING_ACCEPTANCE:
            services.order_accept_order(order_id=order_id, user=self.seller)

    def _to_delivered(self, order_id: int, source: State | None) -> None:
        self._to_in_progress(order_id, None)
        self.deliver(order_id)

    def deliver(self, order_id: int) -> None:
        work = SimpleUploadedFile("work.png", _PNG)
        delivery = order_deliver(order_id=order_id, user=self.seller, text="Done", files=[work])
        for file_id in delivery.files.values_list("pk", flat=True):
            preview_make(file_id=file_id)  # the worker's part: the buyer is shown the work
        if self.released_early:
            delivery_release_early(order_id=order_id, user=self.seller, delivery_id=delivery.pk)

    def _to_revision_requested(self, order_id: int, source: State | None) -> None:
        self._to_delivered(order_id, None)
        if Order.objects.get(pk=order_id).revisions_left <= 0:
            services.order_grant_revision(order_id=order_id, user=self.seller)
        services.order_request_revision(order_id=order_id, user=self.buyer, text="Bluer.")

    def _to_cancellation_requested(self, order_id: int, source: State | None) -> None:
        assert source is not None
        self.reach(order_id, source)
        total = Order.objects.get(pk=order_id).total
        cancellation.order_request_cancellation(
            order_id=order_id,
            user=self.party(self.requested_by),
            text="We cannot agree on the brief.",
            refund=total if self.refund is None else self.refund,
        )

    def _to_disputed(self, order_id: int, source: State | None) -> None:
        assert source is not None
        self.reach(order_id, source)
        dispute_open(order_id=order_id, user=self.buyer, text="Not as asked.")

    def _to_completed(self, order_id: int, source: State | None) -> None:
        if source == State.DISPUTED:
            self._decide(order_id, State.DELIVERED, "release")
        else:
            self.reach(order_id, State.DELIVERED)
            services.order_accept(order_id=order_id, user=self.buyer)

    def _to_cancelled(self, order_id: int, source: State | None) -> None:
        if source == State.PENDING_PAYMENT:
            services.order_abandon(order_id=order_id, user=self.buyer)
        elif source == State.AWAITING_ACCEPTANCE:
            services.order_pay(order_id=order_id, user=self.buyer)
            services.order_decline_order(order_id=order_id, user=self.seller)
        elif source == State.DISPUTED:
            self._decide(order_id, State.IN_PROGRESS, "refund")
        else:
            self.reach(order_id, State.CANCELLATION_REQUESTED)
            other = Actor.SELLER if self.requested_by == Actor.BUYER else Actor.BUYER
            cancellation.order_accept_cancellation(order_id=order_id, user=self.party(other))

    def _decide(self, order_id: int, disputed_from: State, outcome: str) -> None:
        self.reach(order_id, State.DISPUTED, disputed_from)
        dispute = Dispute.objects.get(order_id=order_id, decided_at__isnull=True)
        dispute_decide(
            dispute_id=dispute.pk,
            user=self.support,
            outcome=outcome,
            refund=None,
            text="Decided on the evidence.",
        )

    def _to_chargeback_hold(self, order_id: int, source: State | None) -> None:
        self.reach(order_id, source or State.COMPLETED)
        chargebacks.order_chargeback(order_id=order_id, user=None, reference="dp_factory")

    def _to_charged_back(self, order_id: int, source: State | None) -> None:
        self.reach(order_id, State.CHARGEBACK_HOLD, source)
        chargebacks.order_chargeback_lost(order_id=order_id, user=None, reference="dp_factory")
