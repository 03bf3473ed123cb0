"""The seller's money: pending and available funds per currency (as ``GET /balance``), the
movements of their accounts, and payouts (``POST /payouts``'s service), asked for twice."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from handover.accounts.models import User
from handover.billing.payouts import connect_enabled, payout_request
from handover.ledger.models import AccountKind, Entry, TransactionKind
from handover.ledger.selectors import balances_for, seller_movements
from handover.lib.errors import Conflict, HandoverError, InvalidInput
from handover.web.amounts import amount_text
from handover.web.http import WebRequest
from handover.web.support_forms import PayoutForm
from handover.web.views import payouts

MOVEMENTS_PER_PAGE = 25

# What each kind of ledger transaction means to the seller whose account it touched.
MOVEMENT_WORDS: dict[str, str] = {
    TransactionKind.SETTLEMENT: "Earned on an order (held until it clears)",
    TransactionKind.ADJUSTMENT: "Taken back: a refund decided after completion",
    TransactionKind.CHARGEBACK: "Taken back: the buyer's bank took the payment back",
    TransactionKind.CHARGEBACK_REVERSAL: "Returned: the chargeback was decided for you",
    TransactionKind.PAYOUT: "Paid out",
}
ACCOUNT_WORDS: dict[str, str] = {
    AccountKind.SELLER_PENDING: "Pending",
    AccountKind.SELLER_AVAILABLE: "Available",
}


@dataclass(frozen=True)
class Balance:
    currency: str
    pending: int
    available: int


def _balances(user: User) -> list[Balance]:
    """Every currency the user has funds in; the deployment's own when there are none."""
    lines = balances_for(user=user) or {settings.HANDOVER_CURRENCY: {"pending": 0, "available": 0}}
    return [Balance(currency, **amounts) for currency, amounts in sorted(lines.items())]


@dataclass(frozen=True)
class Movement:
    entry: Entry
    words: str
    funds: str


def _movement(entry: Entry) -> Movement:
    kind = entry.transaction.kind
    if kind == TransactionKind.CLEARANCE:
        words = "Cleared to available" if entry.amount < 0 else "Cleared from pending"
    else:
        words = MOVEMENT_WORDS.get(kind, kind)
    return Movement(entry, words, ACCOUNT_WORDS.get(entry.account.kind, entry.account.kind))


@login_required
@require_GET
def balance_page(request: WebRequest) -> HttpResponse:
    page = Paginator(seller_movements(user=request.user), MOVEMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "balances": _balances(request.user),
        "page": page,
        "movements": [_movement(entry) for entry in page],
        "clearance": settings.HANDOVER_CLEARANCE_PERIOD,
        "payout_account": payouts.payout_account_state(request.user),
    }
    return render(request, "web/money/balance.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def payout_page(request: WebRequest) -> HttpResponse:
    """The payout form; a valid one is shown back for confirmation before the payout."""
    balances = _balances(request.user)
    if connect_enabled():  # to the seller's linked Stripe account, one order at a time
        if request.method == "POST":
            return payouts.stripe_payout_post(request, balances)
        return payouts.stripe_payouts_page(request, balances)
    first = next((b for b in balances if b.available), balances[0])
    form = PayoutForm(
        request.POST if request.method == "POST" else None,
        currencies=[b.currency for b in balances],
        initial={
            "amount": amount_text(first.available, first.currency),
            "currency": first.currency,
        },
    )
    context = {
        "form": form,
        "balances": balances,
        "can_pay_out": form.is_bound or any(b.available for b in balances),
        "clearance": settings.HANDOVER_CLEARANCE_PERIOD,
    }
    if request.method == "POST" and form.is_valid():
        amount, currency = form.cleaned_data["amount"], form.cleaned_data["currency"]
        if request.POST.get("confirm") != "yes":
            balance = next(b for b in balances if b.currency == currency)
            return _confirm_page(request, amount=amount, balance=balance)
        try:
            payout_request(user=request.user, currency=currency, amount=amount)
        except (InvalidInput, Conflict) as error:
            form.add_error("amount", error.detail)  # the amount is what it refused
        except HandoverError as error:
            messages.error(request, error.detail)
            return redirect("web:balance")
        else:
            messages.success(request, "Payout sent. It leaves your available funds now.")
            return redirect("web:balance")
    status = 422 if form.errors else 200
    return render(request, "web/money/payout.html", context, status=status)


def _confirm_page(request: WebRequest, *, amount: int, balance: Balance) -> HttpResponse:
    context = {
        "amount": amount,
        "currency": balance.currency,
        "amount_text": amount_text(amount, balance.currency),
        "balance": balance,
    }
    return render(request, "web/money/confirm_payout.html", context)
