"""Postings to the escrow ledger. Callers hold the order's row lock and an open transaction."""

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Sum, Value, When
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
from handover.lib.money import CURRENCIES, MAX_AMOUNT, amount_step, amount_step_check
from handover.notifications.services import notifications_for_event

logger = logging.getLogger(__name__)


def _account_name(kind: AccountKind, *, owner_id: int | None, order_id: int | None) -> str:
    if kind == AccountKind.ESCROW:
        return f"escrow:order:{order_id}"
    if kind == AccountKind.SELLER_PENDING:
        return f"seller:{owner_id}:pending"
    if kind == AccountKind.SELLER_AVAILABLE:
        return f"seller:{owner_id}:available"
    return {
        AccountKind.WORLD: "world",
        AccountKind.PLATFORM_FEES: "platform:fees",
        AccountKind.PLATFORM_LOSSES: "platform:losses",
    }[kind]


AccountSpec = tuple[AccountKind, int | None, int | None]  # kind, owner id, order id


def _accounts_named(currency: str, names: list[str]) -> dict[str, Account]:
    accounts = Account.objects.filter(currency=currency, name__in=names)
    return {account.name: account for account in accounts}


def accounts_for(currency: str, *specs: AccountSpec) -> list[Account]:
    """The accounts asked for, in order, created on first use; one query once they exist."""
    names = [_account_name(k, owner_id=owner, order_id=order) for k, owner, order in specs]
    found = _accounts_named(currency, names)
    missing = [(name, spec) for name, spec in zip(names, specs, strict=True) if name not in found]
    if missing:
        # ON CONFLICT DO NOTHING: a concurrent first posting may create the same account.
        Account.objects.bulk_create(
            [
                Account(name=name, currency=currency, kind=kind, owner_id=owner, balance=0)
                for name, (kind, owner, _) in missing
            ],
            ignore_conflicts=True,
        )
        found = _accounts_named(currency, names)
    return [found[name] for name in names]


def account_for(
    *, kind: AccountKind, currency: str, owner: User | None = None, order_id: int | None = None
) -> Account:
    """The account of that kind, created on first use."""
    return accounts_for(currency, (kind, owner.pk if owner else None, order_id))[0]


def _post(
    *,
    kind: TransactionKind,
    currency: str,
    legs: Sequence[tuple[Account, int]],
    order=None,
    memo: str = "",
    reference: str = "",
) -> LedgerTransaction | None:
    """Write one balanced transaction; refuse it whole if any guarded balance would go negative.

    Runs inside the caller's transaction: when the database refuses a balance or a second
    once-per-order posting, the caller's atomic block rolls every write of the move back.
    """
    legs = [(account, amount) for account, amount in legs if amount]
    if sum(amount for _, amount in legs) != 0:
        raise AssertionError(f"unbalanced {kind} transaction: {legs}")
    if not legs:
        return None
    now, order_id = timezone.now(), getattr(order, "pk", None)
    try:
        txn = LedgerTransaction.objects.create(
            kind=kind,
            order_id=order_id,
            currency=currency,
            created_at=now,
            memo=memo,
            reference=reference,
        )
        Entry.objects.bulk_create(
            Entry(transaction=txn, account=account, amount=amount) for account, amount in legs
        )
        _apply_balances(legs)
    except IntegrityError:
        logger.warning("ledger refused a %s posting for order %s", kind, order_id)
        raise Conflict(
            f"The ledger refused the {kind}: a balance would go negative, or it was posted before.",
            code="ledger_refused",
        ) from None
    return txn


def _apply_balances(legs: Sequence[tuple[Account, int]]) -> None:
    deltas: dict[int, int] = defaultdict(int)
    for account, amount in legs:
        deltas[account.pk] += amount
    ids = sorted(deltas)
    # Lock the rows in id order first: two postings then never wait on each other in opposite
    # orders (a deadlock on PostgreSQL). SQLite already serialises writers (no-op there).
    list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    # One UPDATE for every leg; the CHECK constraint on balance refuses a guarded account
    # going below zero.
    change = Case(
        *(When(pk=pk, then=Value(deltas[pk])) for pk in ids), output_field=BigIntegerField()
    )
    Account.objects.filter(pk__in=ids).update(balance=F("balance") + change)


def _seller_accounts(order) -> tuple[Account, Account]:
    pending, available = accounts_for(
        order.currency,
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.SELLER_AVAILABLE, order.seller_id, None),
    )
    return pending, available


def ledger_capture(*, order, reference: str = "") -> LedgerTransaction | None:
    """Money the buyer paid enters the order's escrow; ``reference``: the provider's id of
    the payment (reconciliation matches on it)."""
    world, escrow = accounts_for(
        order.currency, (AccountKind.WORLD, None, None), (AccountKind.ESCROW, None, order.pk)
    )
    return _post(
        kind=TransactionKind.CAPTURE,
        currency=order.currency,
        order=order,
        legs=[(world, -order.total), (escrow, order.total)],
        memo="payment captured",
        reference=reference,
    )


def order_shares(order, refund: int) -> Shares:
    return shares(
        total=order.total,
        price=order.price,
        seller_fee=order.seller_fee,
        refund=refund,
        step=amount_step(order.currency),
    )


def ledger_settle(*, order, refund: int) -> Shares:
    """Empty the escrow: ``refund`` back to the buyer, the rest to the seller and the platform."""
    split = order_shares(order, refund)
    world, escrow, pending, fees = accounts_for(
        order.currency,
        (AccountKind.WORLD, None, None),
        (AccountKind.ESCROW, None, order.pk),
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.PLATFORM_FEES, None, None),
    )
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
    world, pending, fees = accounts_for(
        order.currency,
        (AccountKind.WORLD, None, None),
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.PLATFORM_FEES, None, None),
    )
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
    pending, available, fees, world, losses = accounts_for(
        order.currency,
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.SELLER_AVAILABLE, order.seller_id, None),
        (AccountKind.PLATFORM_FEES, None, None),
        (AccountKind.WORLD, None, None),
        (AccountKind.PLATFORM_LOSSES, None, None),
    )
    from_pending = _order_balance(order, pending)
    earned_available = _order_balance(order, available)
    # Locked so that a payout running now cannot spend what is clawed back here.
    available = Account.objects.select_for_update().get(pk=available.pk)
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
    amount_step_check(amount, currency)
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
        reference=reference,
    )
    assert txn is not None
    event = event_append(
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
    notifications_for_event(event)
    return txn
