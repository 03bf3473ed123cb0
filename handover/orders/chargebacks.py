"""Chargebacks: the buyer's bank takes the card payment back. The order goes on hold (money
clawed back, originals locked) while the bank decides; a win puts both back where they were,
a loss ends the order as charged back. The provider reports each step (Stripe's dispute
events, through ``billing.chargebacks``); support records them for a provider that cannot."""

from typing import Any

from django.db import transaction

from handover.accounts.models import User
from handover.ledger import services as ledger
from handover.lib.errors import TransitionNotAllowed
from handover.lib.text import text_check
from handover.orders.models import Order
from handover.orders.rules import Action, Actor, State
from handover.orders.selectors import REPORTING_PROVIDERS, role_of
from handover.orders.services import MAX_TEXT_LENGTH, order_check, order_lock, order_move


def _recorder_check(order: Order, user: User | None) -> None:
    if user is None:
        return
    if role_of(order, user) != Actor.SUPPORT:
        raise TransitionNotAllowed("Only the payment provider reports a chargeback.")
    if order.payment_provider in REPORTING_PROVIDERS:
        raise TransitionNotAllowed(
            f"The {order.payment_provider} provider reports its chargebacks to Handover itself."
        )


def _words(text: str, reference: str) -> dict[str, str]:
    text = text_check(text, field="rationale", limit=MAX_TEXT_LENGTH, required=False)
    reference = text_check(reference, field="reference", limit=255, required=False, one_line=True)
    return {key: value for key, value in (("text", text), ("reference", reference)) if value}


@transaction.atomic
def order_chargeback(
    *, order_id: int, user: User | None = None, reference: str = "", text: str = ""
) -> Order:
    """The buyer's bank took the payment back: the order goes on hold, everything the order
    paid anyone is taken back from where it is, and the originals are locked. ``user``:
    support recording it on the provider's word (with its rationale ``text``); None for the
    provider. ``reference``: the provider's id for the chargeback (Stripe's ``dp_...``)."""
    order = order_lock(order_id)
    _recorder_check(order, user)
    words = _words(text, reference)
    order_check(
        order=order, action=Action.CHARGEBACK, actor=Actor.PROVIDER, target=State.CHARGEBACK_HOLD
    )
    taken = ledger.ledger_chargeback(order=order, reference=words.get("reference", ""))

    def hold(order: Order) -> None:
        order.chargeback_return_state = order.state

    order_move(
        order=order,
        action=Action.CHARGEBACK,
        actor=Actor.PROVIDER,
        user=user,
        target=State.CHARGEBACK_HOLD,
        payload={**taken.as_payload(), **words},
        changes=hold,
    )
    return order


@transaction.atomic
def order_chargeback_won(
    *, order_id: int, user: User | None = None, reference: str = "", text: str = ""
) -> Order:
    """The bank decided for the seller: the money goes back exactly where it was taken from
    and the order returns to the state it was in (originals unlocked if they were released)."""
    order = order_lock(order_id)
    _recorder_check(order, user)
    words = _words(text, reference)
    target = State(order.chargeback_return_state or State.COMPLETED)
    order_check(order=order, action=Action.CHARGEBACK_WON, actor=Actor.PROVIDER, target=target)
    returned = ledger.ledger_chargeback_reverse(order=order, reference=words.get("reference", ""))

    def release(order: Order) -> None:
        order.chargeback_return_state = ""

    order_move(
        order=order,
        action=Action.CHARGEBACK_WON,
        actor=Actor.PROVIDER,
        user=user,
        target=target,
        payload={**returned.as_payload(), **words},
        changes=release,
    )
    return order


@transaction.atomic
def order_chargeback_lost(
    *, order_id: int, user: User | None = None, reference: str = "", text: str = ""
) -> Order:
    """The bank decided for the buyer: the order ends charged back, the money stays with the
    buyer, the originals stay locked, and the buyer's record counts it."""
    order = order_lock(order_id)
    _recorder_check(order, user)
    words = _words(text, reference)

    def close(order: Order) -> None:
        order.chargeback_return_state = ""
        order.clears_at = None

    payload: dict[str, Any] = {"amount": order.total - order.refunded, **words}
    order_move(
        order=order,
        action=Action.CHARGEBACK_LOST,
        actor=Actor.PROVIDER,
        user=user,
        target=State.CHARGED_BACK,
        payload=payload,
        changes=close,
    )
    return order
