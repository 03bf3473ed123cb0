"""Payouts for the tests: an order whose earnings cleared, and a seller's linked Stripe
account onboarded through the boundary server's stand-in for Stripe's hosted onboarding."""

import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.test import override_settings

from handover.accounts.models import User
from handover.billing.models import ConnectedAccount
from handover.billing.payouts import connected_account_link, connected_account_refresh
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.factories import order_in_state


def cleared_order(time_machine, *, buyer: User, seller: User, support: User, **kw) -> Order:
    """A completed order of ``seller`` whose earnings cleared (the clock moves past the
    clearance period). Paid with the ``test`` provider: the pay-in is not what is tested."""
    with override_settings(HANDOVER_PAYMENT_PROVIDER="test"):
        order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support, **kw)
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due()["cleared"] >= 1
    order.refresh_from_db()
    return order


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def onboard(link_url: str) -> str:
    """Finish the onboarding an account link leads to; the return URL it sends back to."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(link_url, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.code
        return redirect.headers["Location"]
    raise AssertionError("the onboarding page did not send the browser back")


def linked_account(user: User) -> ConnectedAccount:
    """The seller's Express account, linked and onboarded, its state asked from Stripe."""
    onboard(connected_account_link(user=user))
    account = connected_account_refresh(user=user)
    assert account is not None and account.ready
    return account


def boundary_fresh(stripe_account):
    """The boundary server with no objects or requests left from earlier tests: ids and
    idempotency keys made from row ids repeat from one test to the next."""
    boundary = stripe_account.boundary
    with boundary.lock:
        boundary.objects.clear()
        boundary.requests.clear()
    return boundary
