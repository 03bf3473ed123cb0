from django.db.models import Min, Q, QuerySet, Sum

from handover.accounts.models import User
from handover.ledger.models import Account, AccountKind, Entry, TransactionKind


def balances_for(*, user: User) -> dict[str, dict[str, int]]:
    """Pending and available funds per currency."""
    result: dict[str, dict[str, int]] = {}
    for kind, currency, balance in Account.objects.filter(
        Q(kind=AccountKind.SELLER_PENDING) | Q(kind=AccountKind.SELLER_AVAILABLE), owner=user
    ).values_list("kind", "currency", "balance"):
        entry = result.setdefault(currency, {"pending": 0, "available": 0})
        entry["pending" if kind == AccountKind.SELLER_PENDING else "available"] = balance
    return result


def seller_movements(*, user: User) -> QuerySet[Entry]:
    """The entries of the user's own seller accounts, newest first."""
    return (
        Entry.objects.filter(
            account__owner=user,
            account__kind__in=(AccountKind.SELLER_PENDING, AccountKind.SELLER_AVAILABLE),
        )
        .select_related("transaction", "account")
        .order_by("-transaction__created_at", "-id")
    )


def available_by_order(*, account: Account) -> tuple[list[tuple[int, int]], int]:
    """What a seller's available ``account`` holds per order, in the order the money cleared
    (cleared, less what a chargeback took back and what was paid out for it), and the sum of
    its entries of no order (payouts made before payouts named their order)."""
    rows = (
        Entry.objects.filter(account=account)
        .values("transaction__order_id")
        .annotate(net=Sum("amount"), first=Min("id"))
        .order_by("first")
    )
    nets = [(r["transaction__order_id"], r["net"]) for r in rows]
    loose = sum(net for order_id, net in nets if order_id is None)
    return [(o, n) for o, n in nets if o is not None], loose


def seller_payouts(*, user: User) -> QuerySet[Entry]:
    """The payouts from the user's available funds (amount out, order, date, reference),
    newest first."""
    return (
        Entry.objects.filter(
            account__owner=user,
            account__kind=AccountKind.SELLER_AVAILABLE,
            transaction__kind=TransactionKind.PAYOUT,
        )
        .select_related("transaction", "account")
        .order_by("-transaction__created_at", "-id")
    )
