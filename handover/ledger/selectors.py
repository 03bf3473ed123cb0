from django.db.models import Q, QuerySet

from handover.accounts.models import User
from handover.ledger.models import Account, AccountKind, Entry


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
