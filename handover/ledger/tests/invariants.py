"""``assert_ledger_invariants()``: the money rules of DESIGN.md section 3, checked on the whole
database in five queries, so property and race tests can call it after every step.

One more than DESIGN.md names: an order's refunding account holds exactly its refunds that the
payment provider has not confirmed, and each confirmed one was posted out once, under the
provider's id of it."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from handover.ledger.models import (
    NON_NEGATIVE_KINDS,
    ONCE_PER_ORDER,
    Account,
    AccountKind,
    Entry,
    LedgerTransaction,
    TransactionKind,
)
from handover.ledger.rules import shares
from handover.orders.models import Order
from handover.orders.rules import CLOSED, State
from handover.payments.models import ProviderRefund, RefundState

# A paid order in one of these states still holds its whole total in escrow (except a dispute
# opened after completion: that order was settled before it became disputed).
HOLDING = frozenset(
    {
        State.AWAITING_ACCEPTANCE,
        State.IN_PROGRESS,
        State.DELIVERED,
        State.REVISION_REQUESTED,
        State.CANCELLATION_REQUESTED,
        State.DISPUTED,
    }
)
# A won chargeback and its reversal: they net zero and leave the order as it was.
WON_CHARGEBACK = frozenset({TransactionKind.CHARGEBACK, TransactionKind.CHARGEBACK_REVERSAL})
# A refund posted out to the world, and a refund the provider gave back after it.
REFUNDS_OUT = frozenset({TransactionKind.REFUND, TransactionKind.REFUND_RETURNED})
ACCOUNTS_OF = {
    "world": (AccountKind.WORLD,),
    "escrow": (AccountKind.ESCROW,),
    "refunding": (AccountKind.REFUNDING,),
    "seller": (AccountKind.SELLER_PENDING, AccountKind.SELLER_AVAILABLE),
    "platform fees": (AccountKind.PLATFORM_FEES,),
    "platform losses": (AccountKind.PLATFORM_LOSSES,),
}


@dataclass(frozen=True)
class OrderRow:
    pk: int
    state: str
    price: int
    seller_fee: int
    total: int
    refunded: int
    paid_at: datetime | None
    settled_at: datetime | None
    cleared_at: datetime | None


@dataclass
class OrderMoney:
    """One order's ledger: the net of its entries by kind of account, its transactions by kind."""

    by_kind: Counter[str] = field(default_factory=Counter)
    transactions: Counter[str] = field(default_factory=Counter)
    # The provider's id of each refund posted out (refunding -> world), and its amount.
    refunds_out: Counter[str] = field(default_factory=Counter)
    # The provider refunds on record: (state, amount, reference).
    provider_refunds: list[tuple[str, int, str]] = field(default_factory=list)
    # What was paid out to the seller of the order's earnings (a payout names its order).
    paid_out: int = 0

    def net(self, name: str) -> int:
        return sum(self.by_kind[kind] for kind in ACCOUNTS_OF[name])


def assert_ledger_invariants() -> None:
    """Fail listing every broken invariant, or pass silently."""
    accounts = {pk: (name, kind, balance) for pk, name, kind, balance in _accounts()}
    entries = list(Entry.objects.values_list("transaction_id", "account_id", "amount"))
    rows = LedgerTransaction.objects.values_list("pk", "kind", "order_id", "reference")
    transactions = {pk: (kind, order_id) for pk, kind, order_id, _ in rows}
    references = {pk: reference for pk, _, _, reference in rows}
    problems = _transactions_balance(transactions, entries)
    problems += _accounts_match_entries(accounts, entries)
    problems += _once_per_order(transactions)
    money: dict[int, OrderMoney] = defaultdict(OrderMoney)
    for kind, order_id in transactions.values():
        if order_id is not None:
            money[order_id].transactions[kind] += 1
    for txn, account_id, amount in entries:
        kind, order_id = transactions[txn]
        if order_id is not None:
            money[order_id].by_kind[accounts[account_id][1]] += amount
            if kind in REFUNDS_OUT and accounts[account_id][1] == AccountKind.WORLD:
                # A returned refund's reverse takes its posting back out (to zero).
                money[order_id].refunds_out[references[txn]] += amount
            if kind == TransactionKind.PAYOUT and accounts[account_id][1] == AccountKind.WORLD:
                money[order_id].paid_out += amount
    for order_id, *refund in ProviderRefund.objects.values_list(
        "order_id", "state", "amount", "reference"
    ):
        money[order_id].provider_refunds.append(tuple(refund))  # type: ignore[arg-type]
    for order in _orders():
        problems += [
            f"order {order.pk} ({order.state}): {p}" for p in _order(order, money[order.pk])
        ]
    assert not problems, "ledger invariants broken:\n  " + "\n  ".join(problems)


def _accounts():
    return Account.objects.values_list("pk", "name", "kind", "balance")


def _orders() -> list[OrderRow]:
    fields = [f for f in OrderRow.__dataclass_fields__]
    return [OrderRow(*row) for row in Order.objects.values_list(*fields)]


def _transactions_balance(transactions, entries) -> list[str]:
    sums: Counter[int] = Counter()
    legs: Counter[int] = Counter()
    for txn, _account, amount in entries:
        sums[txn] += amount
        legs[txn] += 1
    problems = [f"transaction {txn} sums to {total}" for txn, total in sums.items() if total]
    return problems + [f"transaction {txn} has no entries" for txn in transactions if not legs[txn]]


def _accounts_match_entries(accounts, entries) -> list[str]:
    sums: Counter[int] = Counter()
    for _txn, account_id, amount in entries:
        sums[account_id] += amount
    problems = []
    for pk, (name, kind, balance) in accounts.items():
        if balance != sums[pk]:
            problems.append(f"account {name} has balance {balance}, its entries sum to {sums[pk]}")
        if kind in NON_NEGATIVE_KINDS and balance < 0:
            problems.append(f"account {name} is below zero: {balance}")
    return problems


def _once_per_order(transactions) -> list[str]:
    counts = Counter(
        (order_id, kind)
        for kind, order_id in transactions.values()
        if order_id is not None and kind in ONCE_PER_ORDER
    )
    return [f"order {o}: {n} {kind} transactions" for (o, kind), n in counts.items() if n > 1]


def _order(order: OrderRow, money: OrderMoney) -> list[str]:
    """The order's own entries against what its state and amounts say they must be."""
    problems = []
    escrow = money.net("escrow")
    if not 0 <= order.refunded <= order.total:
        problems.append(f"refunded {order.refunded} outside 0..{order.total}")
    if order.state in CLOSED and escrow:
        problems.append(f"closed with {escrow} in escrow")
    if escrow < 0:
        problems.append(f"escrow below zero: {escrow}")
    if order.paid_at is None:
        if money.transactions:
            problems.append(f"unpaid but has transactions {dict(money.transactions)}")
        return problems
    if order.state == State.PENDING_PAYMENT:
        problems.append("paid but still pending payment")
    problems += _refunds(money)
    problems += _chargebacks_paired(order, money)
    if order.state in (State.CHARGEBACK_HOLD, State.CHARGED_BACK):
        return problems + _charged_back(money)
    if order.settled_at is None:
        return problems + _held(order, money)
    return problems + _settled(order, money)


def _refunds(money: OrderMoney) -> list[str]:
    """The refunding account holds exactly the refunds not yet confirmed; each confirmed one
    went out to the world once, under its reference, for its amount."""
    problems = []
    waiting = sum(a for state, a, _ in money.provider_refunds if state != RefundState.SUCCEEDED)
    if money.net("refunding") != waiting:
        problems.append(f"refunding holds {money.net('refunding')}, unconfirmed refunds {waiting}")
    confirmed: Counter[str] = Counter()
    for state, amount, reference in money.provider_refunds:
        if state == RefundState.SUCCEEDED:
            confirmed[reference] += amount
    if confirmed != +money.refunds_out:  # unary plus: a refund returned nets to nothing
        problems.append(f"refunds confirmed {dict(confirmed)}, posted {dict(money.refunds_out)}")
    return problems


def _expect(money: OrderMoney, expected: dict[str, int]) -> list[str]:
    return [
        f"{name} should net {want}, nets {money.net(name)}"
        for name, want in expected.items()
        if money.net(name) != want
    ]


def _held(order: OrderRow, money: OrderMoney) -> list[str]:
    problems = []
    if order.state not in HOLDING:
        problems.append("closed but never settled")
    if order.refunded:
        problems.append(f"refunded {order.refunded} without a settlement")
    if set(money.transactions) - WON_CHARGEBACK != {TransactionKind.CAPTURE}:
        problems.append(f"only a capture expected, found {dict(money.transactions)}")
    return problems + _expect(
        money,
        {
            "world": -order.total,
            "escrow": order.total,
            "refunding": 0,
            "seller": 0,
            "platform fees": 0,
        },
    )


def _settled(order: OrderRow, money: OrderMoney) -> list[str]:
    """Refund R went back (what the provider has not confirmed of it waits in refunding);
    T - R was shared like a completed order of that size; what the seller was paid out of it
    (a payout names its order) went to the world."""
    problems = []
    if order.state not in (State.COMPLETED, State.CANCELLED, State.DISPUTED):
        problems.append("settled while the work is still open")
    if money.transactions[TransactionKind.SETTLEMENT] != 1:
        problems.append(f"{money.transactions[TransactionKind.SETTLEMENT]} settlements")
    split = shares(
        total=order.total, price=order.price, seller_fee=order.seller_fee, refund=order.refunded
    )
    pending = money.by_kind[AccountKind.SELLER_PENDING]
    asked = sum(amount for _, amount, _ in money.provider_refunds)
    if asked != order.refunded:
        problems.append(f"refunded {order.refunded}, asked of the provider {asked}")
    if order.cleared_at is not None and pending:
        problems.append(f"cleared but {pending} still pending for the seller")
    if order.cleared_at is None and money.by_kind[AccountKind.SELLER_AVAILABLE]:
        problems.append("seller funds available before clearance")
    return problems + _expect(
        money,
        {
            # What was paid out of the seller's share left for the world.
            "world": -order.total + order.refunded - money.net("refunding") + money.paid_out,
            "escrow": 0,
            "seller": split.seller - money.paid_out,
            "platform fees": split.platform,
            "platform losses": 0,
        },
    )


def _chargebacks_paired(order: OrderRow, money: OrderMoney) -> list[str]:
    """A chargeback is reversed only when won, and once; an order on hold or charged back
    has one chargeback and no reversal, any other has as many reversals as chargebacks."""
    taken = money.transactions[TransactionKind.CHARGEBACK]
    returned = money.transactions[TransactionKind.CHARGEBACK_REVERSAL]
    if order.state in (State.CHARGEBACK_HOLD, State.CHARGED_BACK):
        return [] if returned == 0 else [f"{returned} chargeback reversals while charged back"]
    if taken != returned:
        return [f"{taken} chargebacks but {returned} reversals"]
    return []


def _charged_back(money: OrderMoney) -> list[str]:
    """Everything the order moved went back to the world: nothing is left in its escrow, with
    the seller or in the platform's fees; what was paid out of it already the seller owes.
    (Orders charged back by earlier versions booked what the seller could not cover to
    platform losses: the seller and the losses net zero.)"""
    problems = []
    if money.transactions[TransactionKind.CHARGEBACK] != 1:
        problems.append(f"{money.transactions[TransactionKind.CHARGEBACK]} chargebacks")
    seller, losses, paid = money.net("seller"), money.net("platform losses"), money.paid_out
    if seller + losses + paid != 0 or losses > 0:
        problems.append(
            f"the seller keeps {seller} after {paid} paid out but platform losses book {losses}"
        )
    in_flight = money.net("refunding")
    expected = {"world": paid - in_flight, "escrow": 0, "platform fees": 0}
    return problems + _expect(money, expected)
