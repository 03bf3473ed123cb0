"""Cancellation requests: either party proposes to cancel with a refund, the other accepts or
declines, the one who asked withdraws, support settles, or the timer accepts when nobody
answers. Each move goes through ``order_move`` as every order operation does."""

from django.db import transaction

from handover.accounts.models import User
from handover.lib.errors import InvalidInput, TransitionNotAllowed
from handover.lib.money import amount_step_check
from handover.lib.text import text_check
from handover.orders.models import Order
from handover.orders.rules import Action, Actor, State, refund_bounds_error
from handover.orders.selectors import role_of
from handover.orders.services import (
    MAX_TEXT_LENGTH,
    order_check,
    order_lock,
    order_move,
    settle,
    settle_and_move,
)


@transaction.atomic
def order_request_cancellation(*, order_id: int, user: User, text: str, refund: int) -> Order:
    """Either party proposes to cancel, with the refund the buyer would get."""
    order = order_lock(order_id)
    text = text_check(text, field="reason", limit=MAX_TEXT_LENGTH)
    actor = role_of(order, user)
    order_check(
        order=order,
        action=Action.REQUEST_CANCELLATION,
        actor=actor,
        target=State.CANCELLATION_REQUESTED,
    )
    if error := refund_bounds_error(refund, order.total):
        raise InvalidInput(error[0].upper() + error[1:] + ".", code="bad_refund")
    amount_step_check(refund, order.currency)

    def open_request(order: Order) -> None:
        order.return_state = order.state
        order.cancellation_requested_by = actor
        order.cancellation_reason = text
        order.cancellation_refund = refund

    order_move(
        order=order,
        action=Action.REQUEST_CANCELLATION,
        actor=actor,
        user=user,
        target=State.CANCELLATION_REQUESTED,
        payload={"reason": text, "refund": refund},
        changes=open_request,
    )
    return order


def close_request(order: Order) -> None:
    """Forget the open cancellation request (a ``changes`` of ``order_move``)."""
    order.return_state = ""
    order.cancellation_requested_by = ""
    order.cancellation_reason = ""
    order.cancellation_refund = None


@transaction.atomic
def order_accept_cancellation(*, order_id: int, user: User) -> Order:
    """The other party agrees: cancelled, refunded as proposed."""
    order = order_lock(order_id)
    # The refund is read only once the move is allowed: outside a request it is empty.
    return settle_and_move(
        order,
        action=Action.ACCEPT_CANCELLATION,
        actor=role_of(order, user),
        user=user,
        target=State.CANCELLED,
        refund=order.cancellation_refund or 0,
        changes=close_request,
    )


def _answer_request(order_id: int, user: User, action: Action, payload: dict) -> Order:
    order = order_lock(order_id)
    actor = role_of(order, user)
    target = State(order.return_state) if order.return_state else State.IN_PROGRESS
    order_move(
        order=order,
        action=action,
        actor=actor,
        user=user,
        target=target,
        payload=payload,
        changes=close_request,
    )
    return order


@transaction.atomic
def order_decline_cancellation(*, order_id: int, user: User, text: str) -> Order:
    """The other party says no; the order goes back to where it was."""
    text = text_check(text, field="message", limit=MAX_TEXT_LENGTH)
    return _answer_request(order_id, user, Action.DECLINE_CANCELLATION, {"message": text})


@transaction.atomic
def order_withdraw_cancellation(*, order_id: int, user: User) -> Order:
    """The party who asked takes the request back."""
    return _answer_request(order_id, user, Action.WITHDRAW_CANCELLATION, {})


@transaction.atomic
def order_settle_cancellation(*, order_id: int, user: User, accept: bool, text: str) -> Order:
    """Support settles an open cancellation request for the parties: accepted (cancelled at
    the refund asked) or declined (the order goes back to where it was), and says why."""
    order = order_lock(order_id)
    text = text_check(text, field="rationale", limit=MAX_TEXT_LENGTH)
    actor = role_of(order, user)
    payload = {"outcome": "accepted" if accept else "declined", "text": text}
    if accept:
        order_check(
            order=order, action=Action.SETTLE_CANCELLATION, actor=actor, target=State.CANCELLED
        )
        money = settle(order, refund=order.cancellation_refund or 0)
        target = State.CANCELLED
        payload.update(money)
    else:
        target = State(order.return_state) if order.return_state else State.IN_PROGRESS
    order_move(
        order=order,
        action=Action.SETTLE_CANCELLATION,
        actor=actor,
        user=user,
        target=target,
        payload=payload,
        changes=close_request,
    )
    return order


def originals_released(order: Order) -> bool:
    """Whether the buyer could already take originals (the seller released a delivery early)."""
    return order.deliveries.filter(released_early_at__isnull=False).exists()


@transaction.atomic
def order_expire_cancellation(*, order_id: int) -> Order:
    """No answer in time: the order is cancelled with the refund asked. When the buyer holds
    originals support decides instead: the timer calls ``disputes.services.cancellation_expire``,
    which opens a dispute then and comes here otherwise."""
    order = order_lock(order_id)
    if order.state == State.CANCELLATION_REQUESTED and originals_released(order):
        # A buyer who holds originals never wins by silence.
        raise TransitionNotAllowed("The buyer holds originals: support decides, not the timer.")
    return settle_and_move(
        order,
        action=Action.EXPIRE_CANCELLATION,
        actor=Actor.TIMER,
        user=None,
        target=State.CANCELLED,
        refund=order.cancellation_refund or 0,
        changes=close_request,
    )
