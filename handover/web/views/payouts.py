"""Payouts with Stripe Connect: the seller links a Stripe Express account (Stripe's hosted
onboarding, then back to the return page; an expired link comes back to the refresh page for
a new one), picks when to be paid out, and pays out what has cleared, asked twice. With the
``test`` and ``manual`` providers the payout page stays ``money.payout_page``."""

from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_POST

from handover.billing.models import ConnectedAccount, PayoutInterval
from handover.billing.payouts import (
    connect_enabled,
    connected_account_link,
    connected_account_refresh,
    onboarding_origin,
    payout_interval,
    payout_request,
    payout_schedule_set,
)
from handover.ledger.selectors import seller_payouts
from handover.lib.errors import HandoverError
from handover.web.http import WebRequest
from handover.web.payout_forms import PayOutNowForm, ScheduleForm

STRIPE_DOWN = "Stripe did not answer. Nothing changed; try again in a moment."
PAYOUTS_PER_PAGE = 25


@dataclass(frozen=True)
class AccountState:
    """The linked account in plain words."""

    key: str  # not_linked, details_needed or ready
    words: str
    account: ConnectedAccount | None


def account_state(account: ConnectedAccount | None) -> AccountState:
    if account is None:
        return AccountState("not_linked", "Not linked", None)
    if not account.ready:
        return AccountState("details_needed", "Details needed", account)
    return AccountState("ready", "Ready", account)


def payout_account_state(user) -> AccountState | None:
    """The linked account's state where payouts go through Stripe; None elsewhere."""
    if not connect_enabled():
        return None
    return account_state(ConnectedAccount.objects.filter(user=user).first())


def stripe_payouts_page(
    request: WebRequest,
    lines: list[Any],
    *,
    now_form: PayOutNowForm | None = None,
    schedule_form: ScheduleForm | None = None,
) -> HttpResponse:
    """The payout page when payouts go through Stripe (``money.payout_page`` hands over, with
    the seller's ``money.Balance`` lines)."""
    account = ConnectedAccount.objects.filter(user=request.user).first()
    context = {
        "balances": lines,
        "state": account_state(account),
        "schedule_form": ScheduleForm(initial={"interval": payout_interval(request.user)})
        if schedule_form is None
        else schedule_form,
        "payable": [b for b in lines if b.available > 0],
        "now_form": now_form,
        "payouts": Paginator(seller_payouts(user=request.user), PAYOUTS_PER_PAGE).get_page(
            request.GET.get("page")
        ),
    }
    refused = any(form is not None and form.errors for form in (now_form, schedule_form))
    status = 422 if refused else 200
    # "Link a Stripe account" posts here and is sent on to Stripe's onboarding: the browser
    # lets a form's redirect leave only for the origins its form-action allows.
    policy = settings.SECURE_CSP | {
        "form-action": [*settings.SECURE_CSP.get("form-action", []), onboarding_origin()]
    }
    return csp_override(policy)(
        lambda request: render(request, "web/payouts/stripe.html", context, status=status)
    )(request)


def stripe_payout_post(request: WebRequest, lines: list[Any]) -> HttpResponse:
    """The schedule saved, or "Pay out now" in one currency: shown back for confirmation,
    then everything available."""
    if request.POST.get("action") == "schedule":
        return _schedule_post(request, lines)
    form = PayOutNowForm(request.POST, currencies=[b.currency for b in lines])
    if not form.is_valid():
        return stripe_payouts_page(request, lines, now_form=form)
    balance = next(b for b in lines if b.currency == form.cleaned_data["currency"])
    if request.POST.get("confirm") != "yes":
        return _confirm_page(request, balance)
    try:
        made = payout_request(user=request.user, currency=balance.currency)
    except HandoverError as error:
        messages.error(request, error.detail)
    else:
        transfers = f"{len(made)} transfer" + ("s" if len(made) != 1 else "")
        messages.success(
            request, f"Payout sent to your Stripe account: {transfers}, one per order."
        )
    return redirect("web:payout")


def _confirm_page(request: WebRequest, balance: Any) -> HttpResponse:
    account = ConnectedAccount.objects.filter(user=request.user).first()
    context = {"balance": balance, "state": account_state(account)}
    return render(request, "web/payouts/confirm.html", context)


@login_required
@require_POST
def account_link(request: WebRequest) -> HttpResponse:
    """Start (or go on with) Stripe's onboarding for the seller's Express account."""
    if not connect_enabled():
        return redirect("web:payout")
    try:
        return redirect(connected_account_link(user=request.user))
    except stripe.StripeError:
        messages.error(request, STRIPE_DOWN)
        return redirect("web:payout")


@login_required
@require_GET
def account_return(request: WebRequest) -> HttpResponse:
    """Where Stripe sends the seller back: the account's state, asked from Stripe."""
    if not connect_enabled():
        return redirect("web:payout")
    try:
        account = connected_account_refresh(user=request.user)
    except stripe.StripeError:
        messages.error(request, STRIPE_DOWN)
        return redirect("web:payout")
    if account is not None and account.ready:
        messages.success(request, "Your Stripe account is linked and ready for payouts.")
    elif account is not None:
        messages.warning(request, "Stripe still needs some details before it can receive payouts.")
    return redirect("web:payout")


@login_required
@require_GET
def account_refresh(request: WebRequest) -> HttpResponse:
    """Where Stripe sends the seller when the link expired or was used: a new link."""
    if not connect_enabled() or not ConnectedAccount.objects.filter(user=request.user).exists():
        return redirect("web:payout")
    try:
        return redirect(connected_account_link(user=request.user))
    except stripe.StripeError:
        messages.error(request, STRIPE_DOWN)
        return redirect("web:payout")


def _schedule_post(request: WebRequest, lines: list[Any]) -> HttpResponse:
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return stripe_payouts_page(request, lines, schedule_form=form)
    schedule = payout_schedule_set(user=request.user, interval=form.cleaned_data["interval"])
    when = PayoutInterval(schedule.interval).label.lower()
    messages.success(request, f"Payout schedule saved: {when}.")
    return redirect("web:payout")
