from django.db.models import Q

from handover.accounts.models import User
from handover.ledger.models import Account, AccountKind


def balances_for(*, user: User) -> dict[str, dict[str, int]]:
    """Pending and available funds per currency."""
    result: dict[str, dict[str, int]] = {}
    for kind, currency, balance in Account.objects.filter(
        Q(kind=AccountKind.SELLER_PENDING) | Q(kind=AccountKind.SELLER_AVAILABLE), owner=user
    ).values_list("kind", "currency", "balance"):
        entry = result.setdefault(currency, {"pending": 0, "available": 0})
        entry["pending" if kind == AccountKind.SELLER_PENDING else "available"] = balance
    return result
