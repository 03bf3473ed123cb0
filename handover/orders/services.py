"""Order operations. Each locks the order row, checks the transition table through
``order_move`` and writes state, money and evidence in one database transaction."""

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import JSONField, Q
from django.utils import timezone

from handover.accounts.models import User
from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
from handover.evidence.visibility import request_values
from handover.ledger import services as ledger
from handover.ledger.rules import pricing
from handover.lib.canonical import json_sha256
from handover.lib.errors import InvalidInput, NotFound, TransitionNotAllowed
from handover.lib.money import amount_step
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.orders.models import Message, Order
from handover.orders.notices import transition_notice
from handover.orders.references import (
    StoredFile,
    answer_files_check,
    answers_record,
    attachments_check,
    attachments_record,
)
from handover.orders.refunds import RefundEvent, refund_events_append, refund_send
from handover.orders.rules import (
    CLOSED,
    Action,
    Actor,
    CancelledOrder,
    OrderFacts,
    Setting,
    State,
    Windows,
    ended_record,
    refusal,
    setting_refusal,
    timer_for,
)
from handover.orders.selectors import (
    answers_open_check,
    offer_to_order,
    order_facts,
    order_for_update,
    order_place_precheck,
    role_of,
)
from handover.payments.providers import get_provider
from handover.trust import services as trust
from handover.trust.rules import RiskThreshold, record_risks
from handover.trust.selectors import user_record

MAX_ANSWER_LENGTH = 5000
MAX_TEXT_LENGTH = 10_000


def _windows() -> Windows:
    return Windows(
        payment=settings.HANDOVER_PAYMENT_WINDOW,
        acceptance=settings.HANDOVER_ACCEPTANCE_WINDOW,
        auto_complete=settings.HANDOVER_AUTO_COMPLETE_AFTER,
        cancellation=settings.HANDOVER_CANCELLATION_WINDOW,
    )


# The order's fields as order_lock read them, so order_move writes only what changed.
_AS_LOCKED = "_handover_as_locked"
_ORDER_FIELDS = [f for f in Order._meta.concrete_fields if not f.primary_key]
# Copied, not shared: a list or dict could be changed in place.
_ORDER_JSON_FIELDS = {f.attname for f in _ORDER_FIELDS if isinstance(f, JSONField)}


def _remember_as_locked(order: Order) -> None:
    values = {f.attname: getattr(order, f.attname) for f in _ORDER_FIELDS}
    for name in _ORDER_JSON_FIELDS:
        values[name] = copy.deepcopy(values[name])
    setattr(order, _AS_LOCKED, values)


def order_lock(order_id: int) -> Order:
    """The order, its row locked until the transaction ends.

    The lock serialises every move on one order: two conflicting requests (accept against
    request-cancellation, say) run one after the other, and the second sees the new state.
    """
    order = order_for_update(order_id)
    if order is None:
        raise NotFound("No such order.")
    _remember_as_locked(order)
    return order


def _save_changes(order: Order) -> None:
    """Write the fields changed since order_lock read the order (all of them for an order
    that did not come from order_lock). Under the row lock nobody else changed the row, so
    the result is the same as a full save."""
    as_locked = getattr(order, _AS_LOCKED, None)
    if as_locked is None:
        order.save()
        return
    changed = [f.name for f in _ORDER_FIELDS if getattr(order, f.attname) != as_locked[f.attname]]
    if changed:
        order.save(update_fields=changed)
    _remember_as_locked(order)


def _facts(order: Order, action: Action) -> OrderFacts:
    # Only the queries the guard of this action needs, so a move costs the same every time.
    disputed_before = (
        action == Action.OPEN_DISPUTE
        and order.state == State.COMPLETED
        and order.disputes.filter(decided_at__isnull=False).exists()
    )
    facts = order_facts(order, disputed_before=disputed_before)
    if action == Action.CHARGEBACK:
        charged_back = Event.objects.filter(
            order=order, type=EventType.ORDER_TRANSITION, payload__action=Action.CHARGEBACK
        )
        facts = dataclasses.replace(facts, charged_back_before=charged_back.exists())
    return facts


def order_check(*, order: Order, action: Action, actor: Actor, target: State) -> None:
    """Raise TransitionNotAllowed unless the table and its guards allow this move."""
    reason = refusal(_facts(order, action), action, actor, target)
    if reason:
        raise TransitionNotAllowed(reason[0].upper() + reason[1:] + ".")


def order_move(
    *,
    order: Order,
    action: Action,
    actor: Actor,
    user: User | None,
    target: State,
    payload: dict[str, Any] | None = None,
    changes: Callable[[Order], None] | None = None,
) -> Event:
    """Apply one transition of the table and record it; the only writer of ``order.state``.

    ``changes`` edits the order's other fields once the move is known to be allowed, so the
    check always sees the order as it was.
    """
    order_check(order=order, action=action, actor=actor, target=target)
    requester = order.cancellation_requested_by  # before ``changes`` closes the request
    if changes is not None:
        changes(order)
    now = timezone.now()
    source = State(order.state)
    _record_ending(order, source=source, target=target, action=action, actor=actor, by=requester)
    if source == State.DELIVERED and order.timer_at is not None:
        # Auto-complete pauses while a request or dispute is open.
        order.paused_remaining = max(order.timer_at - now, timedelta(0))
    resume = (
        order.paused_remaining if target == State.DELIVERED and action != Action.DELIVER else None
    )
    order.state = target
    order.timer_at = timer_for(
        target,
        now=now,
        windows=_windows(),
        auto_complete=order.auto_complete,
        paused_remaining=resume,
    )
    if target == State.DELIVERED:
        order.paused_remaining = None
    if target in CLOSED and order.closed_at is None:
        order.closed_at = now
    _save_changes(order)
    event = event_append(
        order=order,
        type=EventType.ORDER_TRANSITION,
        actor=user,
        actor_role=actor,
        payload={
            "action": action.value,
            "from": source.value,
            "to": target.value,
            **(payload or {}),
        },
    )
    notifications_for_event(event, notice=transition_notice(action, target))
    # What the provider answered to a refund this move decided goes on the record after it.
    refund_events_append(order, getattr(order, _REFUND_EVENTS, []))
    setattr(order, _REFUND_EVENTS, [])
    return event


_REFUND_EVENTS = "_handover_refund_events"


def _refund(order: Order, *, amount: int, purpose: str) -> str:
    """Ask the provider for a refund the ledger moved into refunding; its events wait for
    the move's own (``order_move`` appends them). Returns the provider's id of it."""
    refund, events = refund_send(order, amount=amount, purpose=purpose)
    held: list[RefundEvent] = getattr(order, _REFUND_EVENTS, [])
    setattr(order, _REFUND_EVENTS, [*held, *events])
    return refund.reference


def _record_ending(
    order: Order, *, source: State, target: State, action: Action, actor: Actor, by: str
) -> None:
    """Keep both parties' trust records: a paid order counts there while it rests in a
    closed state (a dispute or a chargeback after completion takes it out of ``completed``)."""
    if order.paid_at is None:
        return  # abandoned: never started, no part of anyone's record
    parties = {"buyer_id": order.buyer_id, "seller_id": order.seller_id}
    if source in CLOSED:
        # Only a chargeback takes an order out of cancelled: its story is on the record.
        story = _cancelled_story(order) if source == State.CANCELLED else None
        trust.record_order(
            **parties,
            buyer_change=ended_record(source, story, party=Actor.BUYER),
            seller_change=ended_record(source, story, party=Actor.SELLER),
            sign=-1,
        )
    if target in CLOSED:
        cancelled = None
        if target == State.CANCELLED and action == Action.CHARGEBACK_WON:
            cancelled = _cancelled_story(order)  # back where it was, counted as it was
        elif target == State.CANCELLED:
            released = _released_before(order)
            cancelled = CancelledOrder(action, actor, by or None, released)
        trust.record_order(
            **parties,
            buyer_change=ended_record(target, cancelled, party=Actor.BUYER),
            seller_change=ended_record(target, cancelled, party=Actor.SELLER),
        )


def _cancelled_story(order: Order) -> CancelledOrder:
    """How a cancelled order came to be cancelled, as its record tells it."""
    moves = Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION).order_by("-id")
    cancel = next(e for e in moves if e.payload.get("to") == State.CANCELLED)
    asked = moves.filter(pk__lt=cancel.pk, payload__action=Action.REQUEST_CANCELLATION).first()
    return CancelledOrder(
        cancel.payload["action"],
        cancel.actor_role,
        asked.actor_role if asked else None,
        _released_before(order),
    )


def _released_before(order: Order) -> bool:
    """Whether the buyer could take the originals before now: released early, downloaded,
    or the order had completed."""
    return Event.objects.filter(
        Q(type=EventType.DELIVERY_RELEASED_EARLY)
        | Q(type=EventType.ORIGINAL_DOWNLOADED, actor_role=Actor.BUYER)
        | Q(type=EventType.ORDER_TRANSITION, payload__to=State.COMPLETED),
        order=order,
    ).exists()


def _requirements(questions: list[str], answers: list[str]) -> list[dict[str, str]]:
    if len(answers) != len(questions):
        raise InvalidInput(
            f"This offer asks {len(questions)} questions; {len(answers)} answers given."
        )
    return [
        {"question": q, "answer": text_check(a, field="answer", limit=MAX_ANSWER_LENGTH)}
        for q, a in zip(questions, answers, strict=True)
    ]


@transaction.atomic
def order_place(
    *,
    buyer: User,
    offer_id: int,
    answers: list[str],
    files: Mapping[int, Sequence[StoredFile]] | None = None,
) -> Order:
    """Place an order on an offer at its current price and terms version; ``files`` are
    reference files (already stored) by the requirement question they answer."""
    order_place_precheck(buyer=buyer, offer_id=offer_id)
    offer_terms = offer_to_order(offer_id)
    assert offer_terms is not None
    offer, terms = offer_terms
    requirements = _requirements(offer.requirements, answers)
    files = {index: group for index, group in (files or {}).items() if group}
    attachments_check(Actor.BUYER, sum(len(group) for group in files.values()))
    answer_files_check(files, len(requirements))
    risks = _buyer_risks(buyer, offer.risk_threshold)
    amounts = pricing(
        price=offer.price,
        buyer_fee_percent=settings.HANDOVER_BUYER_FEE_PERCENT,
        seller_fee_percent=settings.HANDOVER_SELLER_FEE_PERCENT,
        step=amount_step(offer.currency),
    )
    now = timezone.now()
    order = Order.objects.create(
        offer=offer,
        terms=terms,
        terms_sha256=terms.sha256,
        buyer=buyer,
        seller=offer.seller,
        currency=offer.currency,
        price=amounts.price,
        buyer_fee=amounts.buyer_fee,
        seller_fee=amounts.seller_fee,
        total=amounts.total,
        requirements=requirements,
        delivery_days=offer.delivery_days,
        revisions_included=offer.revisions,
        requires_acceptance=offer.requires_acceptance or bool(risks),
        payment_provider=get_provider().name,
        created_at=now,
        timer_at=timer_for(State.PENDING_PAYMENT, now=now, windows=_windows(), auto_complete=True),
    )
    event = event_append(
        order=order,
        type=EventType.ORDER_PLACED,
        actor=buyer,
        actor_role=Actor.BUYER,
        payload={
            "offer_id": offer.pk,
            "terms_version": terms.version,
            "terms_sha256": terms.sha256,
            "requirements_sha256": json_sha256(requirements),
            "price": order.price,
            "buyer_fee": order.buyer_fee,
            "seller_fee": order.seller_fee,
            "total": order.total,
            "currency": order.currency,
            "requires_acceptance": order.requires_acceptance,
            # Why the buyer's record made this order wait for the seller (offer's threshold).
            **({"risks": risks} if offer.risk_threshold is not None else {}),
            **_files_entry(answers_record(order=order, user=buyer, files=files)),
        },
    )
    notifications_for_event(event)
    return order


def _files_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    # Only an event that brought files names them: the others read as they always have.
    return {"files": entries} if entries else {}


def _buyer_risks(buyer: User, threshold: dict[str, int] | None) -> list[str]:
    """Where the buyer's record crosses the offer's threshold; none when it has no threshold."""
    if threshold is None:
        return []
    return record_risks(user_record(buyer), RiskThreshold.from_dict(threshold))


@transaction.atomic
def order_update_answers(
    *,
    order_id: int,
    user: User,
    answers: list[str],
    files: Mapping[int, Sequence[StoredFile]] | None = None,
) -> Order:
    """Change the requirement answers, and add reference files to them; possible only until
    the order is paid. Files sent before stay on the order."""
    order = order_lock(order_id)
    answers_open_check(order, user)
    order.requirements = _requirements([r["question"] for r in order.requirements], answers)
    files = {index: group for index, group in (files or {}).items() if group}
    attachments_check(Actor.BUYER, sum(len(group) for group in files.values()))
    answer_files_check(files, len(order.requirements))
    order.save(update_fields=["requirements"])
    event = event_append(
        order=order,
        type=EventType.ANSWERS_UPDATED,
        actor=user,
        actor_role=Actor.BUYER,
        payload={
            "requirements_sha256": json_sha256(order.requirements),
            **_files_entry(answers_record(order=order, user=user, files=files)),
        },
    )
    notifications_for_event(event)
    return order


def _capture(order: Order, *, user: User | None, reference: str, text: str = "") -> None:
    target = State.AWAITING_ACCEPTANCE if order.requires_acceptance else State.IN_PROGRESS
    order_check(order=order, action=Action.PAY, actor=Actor.PROVIDER, target=target)
    ledger.ledger_capture(order=order, reference=reference)
    now = timezone.now()
    order.paid_at = now
    order.payment_reference = reference
    if target == State.IN_PROGRESS:
        order.due_at = now + timedelta(days=order.delivery_days)
    order_move(
        order=order,
        action=Action.PAY,
        actor=Actor.PROVIDER,
        user=user,
        target=target,
        payload={
            "reference": reference,
            "amount": order.total,
            "terms_sha256": order.terms_sha256,
            "requirements_sha256": json_sha256(order.requirements),
            **_rationale(text),
        },
    )


def _rationale(text: str) -> dict[str, str]:
    """Support's rationale for a move it records, as the event's ``text``."""
    return {"text": text} if text else {}


def _rationale_check(text: str) -> str:
    return text_check(text, field="rationale", limit=MAX_TEXT_LENGTH, required=False)


@transaction.atomic
def order_pay(
    *, order_id: int, user: User, address: str = "", user_agent: str = ""
) -> dict[str, Any]:
    """Start the buyer's payment; the test provider captures at once, a transfer waits for
    support, a card payment for the provider's word (``order_payment_received``). The answer's
    ``client_secret`` is for the buyer's browser only (Stripe.js). ``address`` and
    ``user_agent``: the paying request's, sealed on the event for support."""
    order = order_lock(order_id)
    if role_of(order, user) != Actor.BUYER or order.state != State.PENDING_PAYMENT:
        raise TransitionNotAllowed("Only the buyer pays, and only an order awaiting payment.")
    provider = get_provider(order.payment_provider)
    start = provider.start(order=order)
    event = event_append(
        order=order,
        type=EventType.PAYMENT_STARTED,
        actor=user,
        actor_role=Actor.BUYER,
        payload={"provider": provider.name, "reference": start.reference},
        sealed=_payer_values(address, user_agent),
    )
    notifications_for_event(event)
    if start.captured:
        _capture(order, user=None, reference=start.reference)
    else:
        order.payment_reference = start.reference
        order.save(update_fields=["payment_reference"])
    return {
        "order": order,
        "instructions": start.instructions,
        "client_secret": start.client_secret,
    }


def _payer_values(address: str, user_agent: str) -> dict[str, str] | None:
    """Where the buyer paid from, as a download's viewer is recorded: support's to read, sealed
    in the event (``evidence.visibility``). A bank weighs it against "I did not make this
    purchase" (``billing.evidence``). None when no request paid (a demo, a script)."""
    if not address and not user_agent:
        return None
    return request_values(address, user_agent)


@transaction.atomic
def order_payment_received(*, order_id: int, reference: str) -> Order:
    """The payment provider says the buyer's payment ``reference`` arrived: the money enters
    escrow and the order starts, as when support confirms a transfer."""
    order = order_lock(order_id)
    if reference != order.payment_reference:
        raise TransitionNotAllowed("That payment is not this order's.")
    _capture(order, user=None, reference=reference)
    return order


@transaction.atomic
def order_confirm_payment(
    *, order_id: int, user: User, reference: str = "", text: str = ""
) -> Order:
    """Support confirms that a manual transfer arrived; the money enters escrow. ``text``:
    the agent's rationale (what they checked), kept on the record."""
    order = order_lock(order_id)
    if role_of(order, user) != Actor.SUPPORT:
        raise TransitionNotAllowed("Only support confirms a transfer.")
    reference = text_check(
        reference, field="payment reference", limit=64, required=False, one_line=True
    )
    text = _rationale_check(text)
    _capture(order, user=user, reference=reference or order.payment_reference, text=text)
    return order


def _actor(order: Order, user: User | None) -> Actor:
    return Actor.TIMER if user is None else role_of(order, user)


@transaction.atomic
def order_abandon(*, order_id: int, user: User | None) -> Order:
    """Drop an unpaid order (the buyer, or the payment-window timer). A card payment in
    flight is cancelled at the provider first; one that went through keeps the order (the
    row lock holds back the provider's confirmation until this ends)."""
    order = order_lock(order_id)
    actor = _actor(order, user)
    order_check(order=order, action=Action.ABANDON, actor=actor, target=State.CANCELLED)
    if not get_provider(order.payment_provider).stop(order=order):
        raise TransitionNotAllowed(
            "The payment has gone through: the order starts as soon as it is confirmed."
        )
    order_move(order=order, action=Action.ABANDON, actor=actor, user=user, target=State.CANCELLED)
    return order


@transaction.atomic
def order_accept_order(*, order_id: int, user: User) -> Order:
    """The seller takes on an order that waited for acceptance."""
    order = order_lock(order_id)
    actor = role_of(order, user)
    order_check(order=order, action=Action.ACCEPT_ORDER, actor=actor, target=State.IN_PROGRESS)
    order.due_at = timezone.now() + timedelta(days=order.delivery_days)
    order_move(
        order=order, action=Action.ACCEPT_ORDER, actor=actor, user=user, target=State.IN_PROGRESS
    )
    return order


def settle(order: Order, *, refund: int) -> dict[str, Any]:
    """Empty the escrow; returns what the event should say about the money."""
    split = ledger.ledger_settle(order=order, refund=refund)
    now = timezone.now()
    order.refunded = refund
    order.settled_at = now
    order.clears_at = now + settings.HANDOVER_CLEARANCE_PERIOD if split.seller else None
    money: dict[str, Any] = {
        "refund": split.refund,
        "seller": split.seller,
        "platform": split.platform,
    }
    if refund:
        money["refund_reference"] = _refund(order, amount=refund, purpose="settlement")
    return money


def settle_and_move(
    order: Order,
    *,
    action: Action,
    actor: Actor,
    user: User | None,
    target: State,
    refund: int,
    changes: Callable[[Order], None] | None = None,
) -> Order:
    """A move that empties the escrow: checked first, so a refused one posts nothing."""
    order_check(order=order, action=action, actor=actor, target=target)
    money = settle(order, refund=refund)
    order_move(
        order=order,
        action=action,
        actor=actor,
        user=user,
        target=target,
        payload=money,
        changes=changes,
    )
    return order


@transaction.atomic
def order_decline_order(*, order_id: int, user: User | None) -> Order:
    """The seller (or the acceptance timer) turns the order down; the buyer gets it all back."""
    order = order_lock(order_id)
    return settle_and_move(
        order,
        action=Action.DECLINE_ORDER,
        actor=_actor(order, user),
        user=user,
        target=State.CANCELLED,
        refund=order.total,
    )


@transaction.atomic
def order_accept(*, order_id: int, user: User | None) -> Order:
    """The buyer accepts the delivery (or auto-complete runs out): money and originals go."""
    order = order_lock(order_id)
    return settle_and_move(
        order,
        action=Action.ACCEPT,
        actor=_actor(order, user),
        user=user,
        target=State.COMPLETED,
        refund=0,
    )


@transaction.atomic
def order_request_revision(*, order_id: int, user: User, text: str) -> Order:
    """The buyer asks for changes, using one of the revisions left."""
    order = order_lock(order_id)
    text = text_check(text, field="message", limit=MAX_TEXT_LENGTH)
    actor = role_of(order, user)

    def use_revision(order: Order) -> None:
        order.revisions_used += 1

    order_move(
        order=order,
        action=Action.REQUEST_REVISION,
        actor=actor,
        user=user,
        target=State.REVISION_REQUESTED,
        payload={"message": text, "revisions_left": order.revisions_left - 1},
        changes=use_revision,
    )
    return order


@transaction.atomic
def order_grant_revision(*, order_id: int, user: User) -> Order:
    """The seller grants one more revision than the offer includes."""
    order = order_lock(order_id)
    reason = setting_refusal(Setting.GRANT_REVISION, State(order.state), role_of(order, user))
    if reason:
        raise TransitionNotAllowed(reason)
    order.revisions_granted += 1
    order.save(update_fields=["revisions_granted"])
    event = event_append(
        order=order,
        type=EventType.REVISION_GRANTED,
        actor=user,
        actor_role=Actor.SELLER,
        payload={"revisions_left": order.revisions_left},
    )
    notifications_for_event(event)
    return order


@transaction.atomic
def order_cancel_late(*, order_id: int, user: User) -> Order:
    """The buyer cancels an order not delivered in time, with a full refund."""
    order = order_lock(order_id)
    return settle_and_move(
        order,
        action=Action.CANCEL_LATE,
        actor=role_of(order, user),
        user=user,
        target=State.CANCELLED,
        refund=order.total,
    )


def decide_money(order: Order, *, refund: int) -> dict[str, Any]:
    """Settle a disputed order at ``refund``, or raise a settled order's refund to it."""
    if order.settled_at is None:
        return settle(order, refund=refund)
    if refund < order.refunded:
        raise InvalidInput(f"The buyer was refunded {order.refunded} already.", code="bad_refund")
    delta = ledger.ledger_adjust(order=order, refund_before=order.refunded, refund_after=refund)
    money: dict[str, Any] = {
        "refund": delta.refund,
        "seller": -delta.seller,
        "platform": -delta.platform,
        "after_settlement": True,
    }
    order.refunded = refund
    if refund == order.total:
        order.clears_at = None
    if delta.refund:
        money["refund_reference"] = _refund(
            order, amount=delta.refund, purpose=f"raise-to-{refund}"
        )
    return money


@transaction.atomic
def order_set_auto_complete(*, order_id: int, user: User, enabled: bool) -> Order:
    """The buyer turns auto-completion off (or back on) for this order."""
    order = order_lock(order_id)
    reason = setting_refusal(Setting.AUTO_COMPLETE, State(order.state), role_of(order, user))
    if reason:
        raise TransitionNotAllowed(reason)
    if order.auto_complete == enabled:
        return order
    order.auto_complete = enabled
    order.paused_remaining = None
    if order.state == State.DELIVERED:
        order.timer_at = timezone.now() + settings.HANDOVER_AUTO_COMPLETE_AFTER if enabled else None
    order.save(update_fields=["auto_complete", "paused_remaining", "timer_at"])
    event = event_append(
        order=order,
        type=EventType.AUTO_COMPLETE_CHANGED,
        actor=user,
        actor_role=Actor.BUYER,
        payload={"enabled": enabled},
    )
    notifications_for_event(event)
    return order


@transaction.atomic
def order_clear(*, order_id: int) -> int:
    """Move the seller's earnings on a settled order from pending to available."""
    order = order_lock(order_id)
    now = timezone.now()
    if (
        order.state not in (State.COMPLETED, State.CANCELLED)
        or order.cleared_at is not None
        or order.clears_at is None
        or order.clears_at > now
    ):
        return 0
    amount = ledger.ledger_clear(order=order)
    order.cleared_at = now
    order.save(update_fields=["cleared_at"])
    event = event_append(
        order=order,
        type=EventType.FUNDS_CLEARED,
        actor=None,
        actor_role=Actor.TIMER,
        payload={"amount": amount},
    )
    notifications_for_event(event)
    return amount


@transaction.atomic
def message_post(
    *, order_id: int, user: User, text: str, files: Sequence[StoredFile] = ()
) -> Message:
    """Add a chat message to the order, with the buyer's reference files (already stored);
    it is never edited or deleted. A message with files may have no text."""
    order = order_lock(order_id)
    actor = role_of(order, user)
    attachments_check(actor, len(files))
    text = text_check(text, field="message", limit=MAX_TEXT_LENGTH, required=not files)
    message = Message.objects.create(
        order=order, author=user, author_role=actor, body=text, created_at=timezone.now()
    )
    entries = attachments_record(order=order, user=user, files=files, message=message)
    event = event_append(
        order=order,
        type=EventType.MESSAGE_POSTED,
        actor=user,
        actor_role=actor,
        payload={"message_id": message.pk, "body": text, **_files_entry(entries)},
    )
    notifications_for_event(event)
    return message
