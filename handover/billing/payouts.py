"""Payouts: the seller's cleared funds leave the ledger one order at a time, and with Stripe
go to the seller's linked Express account as a Transfer (separate charges and transfers).

One code path serves every provider: ``payout_request`` splits the amount over the orders it
was earned on (oldest first, never more than the available balance) and posts one payout per
order. Only the sending differs: Stripe needs a destination, the seller's linked account,
which lives here in billing (``payments`` sits below and cannot see it), so the Transfer is
made here; the ``test`` and ``manual`` providers name their payout themselves.
"""

import logging
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.billing.models import ConnectedAccount, PayoutInterval, PayoutSchedule
from handover.evidence.models import Event, EventType
from handover.ledger.models import Account, AccountKind, LedgerTransaction, TransactionKind
from handover.ledger.selectors import available_by_order, balances_for
from handover.ledger.services import account_for, ledger_payout
from handover.lib.errors import Conflict, InvalidInput
from handover.lib.links import page_url
from handover.lib.money import CURRENCIES, MAX_AMOUNT, amount_step_check, format_amount
from handover.notifications.rules import Email
from handover.notifications.services import email_to_user
from handover.orders.models import Order
from handover.payments.providers import get_provider
from handover.payments.stripe_client import stripe_amount, stripe_client

logger = logging.getLogger(__name__)

INTERVALS = {PayoutInterval.DAILY: timedelta(days=1), PayoutInterval.WEEKLY: timedelta(days=7)}


def connect_enabled() -> bool:
    """Payouts go to linked Stripe accounts (the ``stripe`` provider)."""
    return settings.HANDOVER_PAYMENT_PROVIDER == "stripe"


def transfer_group(order_id: int) -> str:
    return f"order-{order_id}"


# Linking an account

STRIPE_ONBOARDING_ORIGIN = "https://connect.stripe.com"  # where an account link leads


def onboarding_origin() -> str:
    """The origin of Stripe's hosted onboarding (a test server's own, when one is set)."""
    base = settings.HANDOVER_STRIPE_API_BASE
    if not base:
        return STRIPE_ONBOARDING_ORIGIN
    parts = urllib.parse.urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def connected_account_link(*, user: User) -> str:
    """The address of Stripe's onboarding for the seller's Express account (made once)."""
    account = _connected_account(user)
    link = stripe_client().v1.account_links.create(
        params={
            "account": account.stripe_account_id,
            "refresh_url": page_url("web:payout_account_refresh"),
            "return_url": page_url("web:payout_account_return"),
            "type": "account_onboarding",
        }
    )
    return link.url


def _connected_account(user: User) -> ConnectedAccount:
    found = ConnectedAccount.objects.filter(user=user).first()
    if found is not None:
        return found
    asked_at = _stripe_second()
    # The key makes a second click (or a retry after a lost answer) get the same account.
    created = stripe_client().v1.accounts.create(
        params={
            "type": "express",
            "email": user.email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"handover_user": str(user.pk)},
        },
        options={"idempotency_key": f"handover-connect-account-{user.pk}"},
    )
    account, _ = ConnectedAccount.objects.get_or_create(
        user=user,
        defaults={"stripe_account_id": created.id, "updated_at": timezone.now()},
    )
    return _apply(account, created.to_dict(), state_at=asked_at, source="creation")


def connected_account_refresh(*, user: User) -> ConnectedAccount | None:
    """The seller's linked account with its state asked from Stripe (None: not linked)."""
    account = ConnectedAccount.objects.filter(user=user).first()
    if account is None:
        return None
    asked_at = _stripe_second()
    described = stripe_client().v1.accounts.retrieve(account.stripe_account_id).to_dict()
    return _apply(account, described, state_at=asked_at, source="refresh")


def _stripe_second() -> datetime:
    """Now, in the whole seconds of Stripe's ``created``: an event made in the same second as
    an ask is applied after it, since it may carry the newer state."""
    return timezone.now().replace(microsecond=0)


def account_updated(event: dict[str, Any]) -> None:
    """``account.updated``: keep the linked account's state as Stripe describes it, unless
    the state held is newer than the event (events may arrive late and out of order)."""
    data_object = event["data"]["object"]
    account = ConnectedAccount.objects.filter(stripe_account_id=data_object["id"]).first()
    if account is None:
        logger.info("account.updated for an account no seller linked: ignored")
        return
    made_at = datetime.fromtimestamp(event["created"], tz=UTC)
    _apply(account, data_object, state_at=made_at, source=f"account.updated {event['id']}")


def _apply(
    account: ConnectedAccount, stripe_account: dict[str, Any], *, state_at: datetime, source: str
) -> ConnectedAccount:
    """Hold Stripe's description of the account as of ``state_at``, unless the state held is
    newer (a late event, or a refresh answered after an event was applied)."""
    with transaction.atomic():
        # The lock makes two events (or an event and a refresh) each compare against what
        # the other wrote, not both against the same older state.
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        held_at = account.stripe_state_at
        if held_at is not None and state_at < held_at:
            logger.info(
                "stale %s for %s (state of %s, held from %s): ignored",
                source,
                account.stripe_account_id,
                state_at.isoformat(),
                held_at.isoformat(),
            )
            return account
        account.details_submitted = bool(stripe_account.get("details_submitted"))
        account.charges_enabled = bool(stripe_account.get("charges_enabled"))
        account.payouts_enabled = bool(stripe_account.get("payouts_enabled"))
        requirements = stripe_account.get("requirements") or {}
        account.requirements = list(requirements.get("currently_due", []))
        account.stripe_state_at = state_at
        account.updated_at = timezone.now()
        account.save()
    return account


# The schedule


def payout_schedule_set(*, user: User, interval: str) -> PayoutSchedule:
    """Pick when cleared funds are paid out: on request, daily or weekly."""
    if interval not in PayoutInterval.values:
        raise InvalidInput("Choose when to be paid out.", code="invalid")
    schedule, _ = PayoutSchedule.objects.update_or_create(
        user=user, defaults={"interval": interval, "updated_at": timezone.now()}
    )
    return schedule


def payout_interval(user: User) -> str:
    schedule = PayoutSchedule.objects.filter(user=user).first()
    return schedule.interval if schedule else PayoutInterval.ON_REQUEST


# Paying out


@dataclass(frozen=True)
class PayoutPart:
    order_id: int | None
    amount: int


def payout_parts(nets: list[tuple[int, int]], loose: int, amount: int) -> list[PayoutPart]:
    """``amount`` split over the orders it was earned on, oldest first. ``nets``: what each
    order left in the available funds; ``loose``: entries of no order there (earlier payouts,
    taken from the oldest orders first). What no order explains goes as a part of no order."""
    parts, left, unassigned = [], amount, max(0, -loose)
    for order_id, net in nets:
        earlier = min(max(net, 0), unassigned)
        unassigned -= earlier
        part = min(net - earlier, left)
        if part > 0:
            parts.append(PayoutPart(order_id, part))
            left -= part
    if left > 0:
        parts.append(PayoutPart(None, left))
    return parts


def payout_destination(user: User) -> str | None:
    """Where a payout goes: the linked Stripe account, or None for providers that pay out
    themselves; a Stripe seller without a usable account keeps the balance (409)."""
    if not connect_enabled():
        return None
    account = ConnectedAccount.objects.filter(user=user).first()
    if account is None or not account.ready:
        raise Conflict(
            "Your balance waits here until you link a Stripe account that can receive payouts.",
            code="no_payout_account",
        )
    return account.stripe_account_id


def payout_request(
    *, user: User, currency: str, amount: int | None = None
) -> list[LedgerTransaction]:
    """Pay out ``amount`` (everything available when None) of the seller's cleared funds:
    one provider payout and one ledger payout per order it was earned on."""
    if currency not in CURRENCIES:
        raise InvalidInput(f"Unknown currency {currency!r}.")
    if amount is not None and not 1 <= amount <= MAX_AMOUNT:
        raise InvalidInput("The amount must be a positive whole number of minor units.")
    if amount is not None:
        amount_step_check(amount, currency)
    destination = payout_destination(user)
    with transaction.atomic():
        available = account_for(kind=AccountKind.SELLER_AVAILABLE, currency=currency, owner=user)
        # The lock keeps two payouts (a click and the schedule) from both spending the funds,
        # and a chargeback from taking back what is being sent.
        available = Account.objects.select_for_update().get(pk=available.pk)
        amount = available.balance if amount is None else amount
        if amount < 1 or available.balance < amount:
            raise Conflict(
                f"Only {max(available.balance, 0)} is available for payout.",
                code="insufficient_funds",
            )
        nets, loose = available_by_order(account=available)
        parts = payout_parts(nets, loose, amount)
        orders = Order.objects.in_bulk([p.order_id for p in parts if p.order_id])
        return [
            _pay_part(user, available, orders.get(part.order_id or 0), part.amount, destination)
            for part in parts
        ]


def _pay_part(
    user: User, available: Account, order: Order | None, amount: int, destination: str | None
) -> LedgerTransaction:
    if destination is None:
        reference = get_provider().payout(user=user, currency=available.currency, amount=amount)
    else:
        reference = _transfer(user, available, order, amount, destination)
    return ledger_payout(
        user=user, available=available, amount=amount, order=order, reference=reference
    )


def _transfer(
    user: User, available: Account, order: Order | None, amount: int, destination: str
) -> str:
    """A Transfer of ``amount`` to the linked account, grouped with the order's charge."""
    currency = available.currency
    metadata = {"handover_user": str(user.pk)}
    params: stripe.params.TransferCreateParams = {
        "amount": stripe_amount(amount, currency),
        "currency": currency.lower(),
        "destination": destination,
        "metadata": metadata,
    }
    if order is not None:
        params["transfer_group"] = transfer_group(order.pk)
        metadata["handover_order"] = str(order.pk)
        charge = _charge_of(order)
        if charge:
            params["source_transaction"] = charge
    paid = LedgerTransaction.objects.filter(
        kind=TransactionKind.PAYOUT, order=order, currency=currency
    ).count()
    # From the order and how many payouts it had: the same payout asked again (after a
    # failure that rolled the ledger back) is the same Transfer at Stripe, never a second.
    key = f"handover-payout-{user.pk}-{currency}-order-{getattr(order, 'pk', 0)}-{paid}-{amount}"
    try:
        earlier = _unrecorded_transfer(order, destination, amount) if order else ""
        if earlier:
            return earlier
        transfer = stripe_client().v1.transfers.create(
            params=params, options={"idempotency_key": key}
        )
    except stripe.StripeError as error:
        # Refused, or not answered: the whole payout rolls back; asked again, the same key
        # finds what Stripe made.
        logger.warning("Stripe refused a transfer for user %s: %s", user.pk, error.code)
        raise Conflict(
            "Stripe did not take the payout; nothing left your balance. Try again later.",
            code="payout_refused",
        ) from None
    return transfer.id


def _charge_of(order: Order) -> str:
    """The charge the buyer paid the order with, where Stripe took it: a Transfer from it
    may be made before its funds are available in the platform's balance."""
    reference = order.payment_reference
    if reference.startswith(("ch_", "py_")):
        return reference
    if not reference.startswith("pi_"):
        return ""
    try:
        intent = stripe_client().v1.payment_intents.retrieve(reference).to_dict()
    except stripe.StripeError:
        return ""  # the Transfer then comes from the platform's available balance
    charge = intent.get("latest_charge") or ""
    return charge if isinstance(charge, str) else str(charge.get("id", ""))


def _unrecorded_transfer(order: Order, destination: str, amount: int) -> str:
    """A Transfer of the order already at Stripe but not in the ledger (sent before a failure
    rolled the posting back), of this amount: it is recorded instead of sending another."""
    recorded = set(
        LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT, order=order).values_list(
            "reference", flat=True
        )
    )
    sent = stripe_client().v1.transfers.list(
        params={"transfer_group": transfer_group(order.pk), "destination": destination}
    )
    for transfer in sent.data:
        if transfer.id not in recorded and transfer.amount == stripe_amount(amount, order.currency):
            return transfer.id
    return ""


def payouts_scheduled(*, now=None) -> int:
    """Pay out every seller whose schedule is due and who has cleared funds; how many payouts
    were made. A seller whose payout is refused (no linked account) keeps the balance."""
    now = now or timezone.now()
    made = 0
    for schedule in PayoutSchedule.objects.exclude(interval=PayoutInterval.ON_REQUEST):
        interval = INTERVALS[PayoutInterval(schedule.interval)]
        if schedule.last_run_at and now - schedule.last_run_at < interval:
            continue
        for currency, amounts in balances_for(user=schedule.user).items():
            if amounts["available"] > 0:
                made += _scheduled_one(schedule.user, currency)
        schedule.last_run_at = now
        schedule.save(update_fields=["last_run_at"])
    return made


def _scheduled_one(user: User, currency: str) -> int:
    try:
        with transaction.atomic():
            made = payout_request(user=user, currency=currency)
            _tell_scheduled(user, made)
    except Conflict as refusal:
        logger.info("scheduled payout for user %s not made: %s", user.pk, refusal.code)
        return 0
    return len(made)


def _tell_scheduled(user: User, made: list[LedgerTransaction]) -> None:
    """One e-mail for a payout the seller did not ask for just now (one they ask for is
    shown on the page): what left, per order, and where to see it."""
    total = sum(txn.entries.get(amount__gt=0).amount for txn in made)
    currency = made[0].currency
    lines = [
        f"Your {PayoutInterval(payout_interval(user)).label.lower()} payout sent "
        f"{format_amount(total, currency)} to your linked account:",
        *(f"- order #{txn.order_id or '-'}: {txn.reference}" for txn in made),
        f"Your payouts: {page_url('web:payout')}",
    ]
    event = Event.objects.get(type=EventType.PAYOUT_MADE, payload__transaction_id=made[-1].pk)
    subject = f"Payout of {format_amount(total, currency)} sent"
    email_to_user(event, user_id=user.pk, email=Email(subject, "\n".join(lines) + "\n"))
