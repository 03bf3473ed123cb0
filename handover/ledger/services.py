"""Postings to the escrow ledger. Callers hold the order's row lock and an open transaction."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.db import IntegrityError
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
from handover.lib.errors import Conflict
from handover.lib.money import amount_step
from handover.notifications.services import notifications_for_event

logger = logging.getLogger(__name__)


def _account_name(kind: AccountKind, *, owner_id: int | None, order_id: int | None) -> str:
    if kind == AccountKind.ESCROW:
        return f"escrow:order:{order_id}"
    if kind == AccountKind.REFUNDING:
        return f"refunding:order:{order_id}"
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
    the payment (a PaymentIntent)."""
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
    """Empty the escrow: ``refund`` on its way back to the buyer (held in the order's refunding
    account until the provider confirms it), the rest to the seller and the platform."""
    split = order_shares(order, refund)
    refunding, escrow, pending, fees = accounts_for(
        order.currency,
        (AccountKind.REFUNDING, None, order.pk),
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
            (refunding, split.refund),
            (pending, split.seller),
            (fees, split.platform),
        ],
        memo=f"settled with refund {refund}",
    )
    return split


def ledger_adjust(*, order, refund_before: int, refund_after: int) -> Shares:
    """Raise a settled, uncleared order's refund: take the difference back from the shares
    into the order's refunding account, on its way to the buyer."""
    delta = shares_delta(order_shares(order, refund_before), order_shares(order, refund_after))
    refunding, pending, fees = accounts_for(
        order.currency,
        (AccountKind.REFUNDING, None, order.pk),
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.PLATFORM_FEES, None, None),
    )
    _post(
        kind=TransactionKind.ADJUSTMENT,
        currency=order.currency,
        order=order,
        legs=[(pending, -delta.seller), (fees, -delta.platform), (refunding, delta.refund)],
        memo=f"refund raised from {refund_before} to {refund_after}",
    )
    return delta


def ledger_refund_sent(*, order, amount: int, reference: str) -> LedgerTransaction:
    """The provider confirmed a refund of ``amount``: it leaves the order's refunding account
    for the world. ``reference`` is the provider's id of the refund."""
    refunding, world = accounts_for(
        order.currency, (AccountKind.REFUNDING, None, order.pk), (AccountKind.WORLD, None, None)
    )
    txn = _post(
        kind=TransactionKind.REFUND,
        currency=order.currency,
        order=order,
        legs=[(refunding, -amount), (world, amount)],
        memo="refund confirmed by the provider",
        reference=reference,
    )
    assert txn is not None, "a refund of nothing"
    return txn


def ledger_refund_returned(*, order, reference: str) -> LedgerTransaction:
    """The provider gave back a refund it had confirmed (Stripe's ``failed`` after
    ``succeeded``: the buyer's card account was closed, say): the exact reverse of its
    ``refund`` posting, so the money waits in the order's refunding account again."""
    refund = LedgerTransaction.objects.get(
        order=order, kind=TransactionKind.REFUND, reference=reference
    )
    if LedgerTransaction.objects.filter(
        order=order, kind=TransactionKind.REFUND_RETURNED, reference=reference
    ).exists():
        raise Conflict("The ledger took this refund back already.", code="ledger_refused")
    txn = _post(
        kind=TransactionKind.REFUND_RETURNED,
        currency=order.currency,
        order=order,
        legs=[(e.account, -e.amount) for e in refund.entries.select_related("account")],
        memo="refund returned by the provider",
        reference=reference,
    )
    assert txn is not None, "a refund of nothing"
    return txn


def _order_balance(order, account: Account, *, besides: Sequence[str] = ()) -> int:
    """What the order's postings left in ``account``, leaving out transactions of the kinds
    ``besides``."""
    entries = Entry.objects.filter(transaction__order=order, account=account)
    if besides:
        entries = entries.exclude(transaction__kind__in=besides)
    return entries.aggregate(s=Sum("amount"))["s"] or 0


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


@dataclass(frozen=True)
class Clawback:
    """What a chargeback took back from each place the order's money was (or, reversed,
    what a won chargeback returned there)."""

    escrow: int = 0  # not settled yet
    seller_pending: int = 0
    seller_available: int = 0  # cleared; may leave the seller owing (a negative balance)
    platform_fees: int = 0

    @property
    def amount(self) -> int:
        return self.escrow + self.seller_pending + self.seller_available + self.platform_fees

    def as_payload(self) -> dict[str, int]:
        return {"amount": self.amount, **{k: v for k, v in asdict(self).items() if v}}


_CLAWED_FROM = {
    AccountKind.ESCROW: "escrow",
    AccountKind.SELLER_PENDING: "seller_pending",
    AccountKind.SELLER_AVAILABLE: "seller_available",
    AccountKind.PLATFORM_FEES: "platform_fees",
}


def ledger_chargeback(*, order, reference: str = "") -> Clawback:
    """Return everything the buyer paid and was not refunded to the world, taken from wherever
    the order's money is: its escrow, the seller's pending and available funds (the seller owes
    what was paid out already: available goes below zero) and the platform's fees. Nothing is
    booked to platform losses: the seller owes what the bank took back."""
    world, escrow, pending, available, fees = accounts_for(
        order.currency,
        (AccountKind.WORLD, None, None),
        (AccountKind.ESCROW, None, order.pk),
        (AccountKind.SELLER_PENDING, order.seller_id, None),
        (AccountKind.SELLER_AVAILABLE, order.seller_id, None),
        (AccountKind.PLATFORM_FEES, None, None),
    )
    # Locked so that a payout running now sees the balance after the claw-back (and so never
    # sends more than the seller has).
    Account.objects.select_for_update().filter(pk=available.pk).first()
    taken = Clawback(
        escrow=_order_balance(order, escrow),
        seller_pending=_order_balance(order, pending),
        # What the order earned there, paid out or not: a payout names its order, and what was
        # paid out already the seller now owes.
        seller_available=_order_balance(order, available, besides=[TransactionKind.PAYOUT]),
        platform_fees=_order_balance(order, fees),
    )
    _post(
        kind=TransactionKind.CHARGEBACK,
        currency=order.currency,
        order=order,
        legs=[
            (world, taken.amount),
            (escrow, -taken.escrow),
            (pending, -taken.seller_pending),
            (available, -taken.seller_available),
            (fees, -taken.platform_fees),
        ],
        memo="chargeback",
        reference=reference,
    )
    return taken


def ledger_chargeback_reverse(*, order, reference: str = "") -> Clawback:
    """A won chargeback: the exact reverse of the order's chargeback posting."""
    chargeback = LedgerTransaction.objects.get(order=order, kind=TransactionKind.CHARGEBACK)
    legs = [(e.account, -e.amount) for e in chargeback.entries.select_related("account")]
    _post(
        kind=TransactionKind.CHARGEBACK_REVERSAL,
        currency=order.currency,
        order=order,
        legs=legs,
        memo="chargeback won",
        reference=reference,
    )
    returned = {
        _CLAWED_FROM[AccountKind(account.kind)]: amount
        for account, amount in legs
        if account.kind != AccountKind.WORLD
    }
    return Clawback(**returned)


def ledger_payout(
    *, user: User, available: Account, amount: int, order=None, reference: str
) -> LedgerTransaction:
    """Post a payout the provider made (``reference``): the seller's available funds, earned on
    ``order`` where known, leave to the world. The caller holds ``available``'s row lock
    and checked its balance."""
    world = account_for(kind=AccountKind.WORLD, currency=available.currency)
    txn = _post(
        kind=TransactionKind.PAYOUT,
        currency=available.currency,
        order=order,
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
            "currency": available.currency,
            "reference": reference,
            "transaction_id": txn.pk,
            "order_id": getattr(order, "pk", None),
        },
    )
    notifications_for_event(event)
    return txn
