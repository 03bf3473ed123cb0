from django.conf import settings
from ninja import Router, Schema, Status
from pydantic import StrictInt

from handover.billing.payouts import payout_request
from handover.ledger.selectors import balances_for

router = Router()


class BalanceLine(Schema):
    currency: str
    pending: int
    available: int


class BalanceOut(BalanceLine):
    balances: list[BalanceLine]


class PayoutIn(Schema):
    amount: StrictInt
    currency: str | None = None


class PayoutOut(Schema):
    id: int  # the first of its ledger payouts: one per order the funds were earned on
    references: list[str]  # the provider's ids (Stripe: one Transfer per order)
    amount: int
    currency: str
    balance: BalanceOut


def _balance(user, currency: str | None) -> dict:
    lines = balances_for(user=user)
    chosen = currency or (next(iter(lines)) if len(lines) == 1 else settings.HANDOVER_CURRENCY)
    main = lines.get(chosen, {"pending": 0, "available": 0})
    return {
        "currency": chosen,
        **main,
        "balances": [{"currency": c, **v} for c, v in sorted(lines.items())],
    }


@router.get("/balance", response=BalanceOut)
def balance(request, currency: str | None = None):
    """The seller's pending (not yet cleared) and available funds."""
    return _balance(request.auth, currency)


@router.post("/payouts", response={201: PayoutOut})
def payout(request, payload: PayoutIn):
    """Pay out available funds; with Stripe to the linked account (409 ``no_payout_account``
    without a usable one), one Transfer per order the funds were earned on."""
    currency = payload.currency or settings.HANDOVER_CURRENCY
    txns = payout_request(user=request.auth, currency=currency, amount=payload.amount)
    return Status(
        201,
        {
            "id": txns[0].pk,
            "references": [txn.reference for txn in txns],
            "amount": payload.amount,
            "currency": currency,
            "balance": _balance(request.auth, currency),
        },
    )
