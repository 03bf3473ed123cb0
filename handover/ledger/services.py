"""Postings to the escrow ledger. Callers hold the order's row lock and an open transaction."""

import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from handover.accounts.models import User
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.ledger.models import (
    Account,
    AccountKind,
    Entry,
    LedgerTransaction,
    TransactionKind,
)
from handover.ledger.rules import Shares, shares, shares_delta
from handover.lib.errors import Conflict, InvalidInput
from handover.lib.money import CURRENCIES, MAX_AMOUNT

logger = logging.getLogger(__name__)


def account_for(
    *, kind: AccountKind, currency: str, owner: User | None = None, order_id: int | None = None
) -> Account:
    """The account of that kind, created on first use."""
    if kind == AccountKind.ESCROW:
        name = f"escrow:order:{order_id}"
    elif kind in (AccountKind.SELLER_PENDING, AccountKind.SELLER_AVAILABLE):
        assert owner is not None
        name = (
            f"seller:{owner.pk}:{'pending' if kind == AccountKind.SELLER_PENDING else 'available'}"
        )
    else:
        name = {
            AccountKind.WORLD: "world",
            AccountKind.PLATFORM_FEES: "platform:fees",
            AccountKind.PLATFORM_LOSSES: "platform:losses",
        }[kind]
    account, _ = Account.objects.get_or_create(
        name=name, currency=currency, defaults={"kind": kind, "owner": owner}
    )
    return account


def _post(
    *,
    kind: TransactionKind,
    currency: str,
    legs: Sequence[tuple[Account, int]],
    order=None,
    memo: str = "",
) -> LedgerTransaction | None:
    """Write one balanced transaction; refuse it whole if any guarded balance would go negative."""
    legs = [(account, amount) for account, amount in legs if amount]
    if sum(amount for _, amount in legs) != 0:
        raise AssertionError(f"unbalanced {kind} transaction: {legs}")
    if not legs:
        return None
    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                kind=kind, order=order, currency=currency, created_at=timezone.now(), memo=memo
            )
            Entry.objects.bulk_create(
                Entry(transaction=txn, account=account, amount=amount) for account, amount in legs
            )
            # Update balances in account-id order so two postings never wait on each other
            # in opposite orders (a deadlock on PostgreSQL).
            for account, amount in sorted(legs, key=lambda leg: leg[0].pk):
                Account.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    except IntegrityError:
        logger.warning("ledger refused a %s posting for order %s", kind, getattr(order, "pk", None))
        raise Conflict(
            f"The ledger refused the {kind}: a balance would go negative, or it was posted before.",
            code="ledger_refused",
        ) from None
    return txn


def _seller_accounts(order) -> tuple[Account, Account]:
    return (
        account_for(kind=AccountKind.SELLER_PENDING, currency=order.currency, owner=order.seller),
        account_for(kind=AccountKind.SELLER_AVAILABLE, currency=order.currency, owner=order.seller),
    )


def ledger_capture(*, order) -> LedgerTransaction | None:
    """Money the buyer paid enters the order's escrow."""
    world = account_for(kind=AccountKind.WORLD, currency=order.currency)
    escrow = account_for(kind=AccountKind.ESCROW, currency=order.currency, order_id=order.pk)
    return _post(
        kind=TransactionKind.CAPTURE,
        currency=order.currency,
        order=order,
        legs=[(world, -order.total), (escrow, order.total)],
        memo="payment captured",
    )


def order_shares(order, refund: int) -> Shares:
    return shares(total=order.total, price=order.price, seller_fee=order.seller_fee, refund=refund)


def ledger_settle(*, order, refund: int) -> Shares:
    """Empty the escrow: ``refund`` back to the buyer, the rest to the seller and the platform."""
    split = order_shares(order, refund)
    world = account_for(kind=AccountKind.WORLD, currency=order.currency)
    escrow = account_for(kind=AccountKind.ESCROW, currency=order.currency, order_id=order.pk)
    pending, _ = _seller_accounts(order)
    fees = account_for(kind=AccountKind.PLATFORM_FEES, currency=order.currency)
    _post(
        kind=TransactionKind.SETTLEMENT,
        currency=order.currency,
        order=order,
        legs=[
            (escrow, -order.total),
            (world, split.refund),
            (pending, split.seller),
            (fees, split.platform),
        ],
        memo=f"settled with refund {refund}",
    )
    return split


def ledger_adjust(*, order, refund_before: int, refund_after: int) -> Shares:
    """Raise a settled, uncleared order's refund: take the difference back from the shares."""
    delta = shares_delta(order_shares(order, refund_before), order_shares(order, refund_after))
    world = account_for(kind=AccountKind.WORLD, currency=order.currency)
    pending, _ = _seller_accounts(order)
    fees = account_for(kind=AccountKind.PLATFORM_FEES, currency=order.currency)
    _post(
        kind=TransactionKind.ADJUSTMENT,
        currency=order.currency,
        order=order,
        legs=[(pending, -delta.seller), (fees, -delta.platform), (world, delta.refund)],
        memo=f"refund raised from {refund_before} to {refund_after}",
    )
    return delta


def _order_balance(order, account: Account) -> int:
    return (
        Entry.objects.filter(transaction__order=order, account=account).aggregate(s=Sum("amount"))[
            "s"
        ]
        or 0
    )


def ledger_clear(*, order) -> int:
    """Move what the seller earned on this order from pending to available."""
    pending, available = _seller_accounts(order)
    amount = _order_balance(order, pending)
    _post(
        kind=TransactionKind.CLEARANCE,
        currency=order.currency,
        order=order,
        legs=[(pending, -amount), (available, amount)],
        memo="cleared",
    )
    return amount


def ledger_chargeback(*, order, amount: int) -> int:
    """Return ``amount`` to the world; claw back from the seller, losses cover the shortfall.

    Returns the shortfall booked to platform losses.
    """
    pending, available = _seller_accounts(order)
    fees = account_for(kind=AccountKind.PLATFORM_FEES, currency=order.currency)
    world = account_for(kind=AccountKind.WORLD, currency=order.currency)
    losses = account_for(kind=AccountKind.PLATFORM_LOSSES, currency=order.currency)
    from_pending = _order_balance(order, pending)
    earned_available = _order_balance(order, available)
    available.refresh_from_db(fields=["balance"])
    from_available = max(0, min(earned_available, available.balance))
    from_fees = _order_balance(order, fees)
    shortfall = amount - from_pending - from_available - from_fees
    _post(
        kind=TransactionKind.CHARGEBACK,
        currency=order.currency,
        order=order,
        legs=[
            (world, amount),
            (pending, -from_pending),
            (available, -from_available),
            (fees, -from_fees),
            (losses, -shortfall),
        ],
        memo="chargeback",
    )
    return shortfall


@transaction.atomic
def payout_request(*, user: User, currency: str, amount: int) -> LedgerTransaction:
    """Pay out available funds to the seller through the payment provider."""
    from handover.payments.providers import get_provider

    if currency not in CURRENCIES:
        raise InvalidInput(f"Unknown currency {currency!r}.")
    if not 1 <= amount <= MAX_AMOUNT:
        raise InvalidInput("The amount must be a positive whole number of minor units.")
    available = account_for(kind=AccountKind.SELLER_AVAILABLE, currency=currency, owner=user)
    # The lock keeps two payouts from both passing the balance check below.
    available = Account.objects.select_for_update().get(pk=available.pk)
    if available.balance < amount:
        raise Conflict(
            f"Only {available.balance} is available for payout.", code="insufficient_funds"
        )
    reference = get_provider().payout(user=user, currency=currency, amount=amount)
    world = account_for(kind=AccountKind.WORLD, currency=currency)
    txn = _post(
        kind=TransactionKind.PAYOUT,
        currency=currency,
        legs=[(available, -amount), (world, amount)],
        memo=f"payout {reference}",
    )
    assert txn is not None
    event_append(
        type=EventType.PAYOUT_MADE,
        actor=user,
        actor_role="seller",
        payload={
            "amount": amount,
            "currency": currency,
            "reference": reference,
            "transaction_id": txn.pk,
        },
    )
    return txn
