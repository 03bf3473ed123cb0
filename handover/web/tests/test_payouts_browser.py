"""A seller with a cleared order links a Stripe account and is paid out, in a real browser
(Debian's Chromium).

localstripe lacks Connect, so Stripe's hosted onboarding and the Transfer are answered by the
test boundary server with Stripe's documented shapes (``testing.stripe_connect``): its
onboarding page marks the account onboarded and sends the browser back, as Stripe's would."""

import re
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from handover.accounts.models import Role, User
from handover.billing.models import ConnectedAccount
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.testing.actors import make_user
from handover.testing.payout_steps import boundary_fresh, cleared_order
from handover.testing.stripe_connect import transfers
from handover.web.tests.report_steps import Checked
from handover.web.tests.test_support_browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def link_and_pay_out(
    page: Page, base_url: str, seller: User, snap: Callable[[str], None] | None = None
) -> list[str]:
    """The seller (signed in, with cleared funds) links a Stripe account through Stripe's
    onboarding, comes back to "Ready" and pays out everything after confirming; the Stripe
    transfer ids shown in the payouts made. ``snap`` (a ``Snapshots``) checks each page.
    Needs the ``stripe`` provider and ``HANDOVER_BASE_URL`` at ``base_url`` (Stripe sends
    the seller back there)."""
    snap = snap or (lambda name: None)
    page.goto(base_url + "/balance/payout/")
    expect(page.get_by_role("heading", name="Payouts", exact=True)).to_be_visible()
    expect(page.locator(".payout-account__state")).to_have_text("Not linked")
    expect(page.get_by_text("Your balance waits here until you link")).to_be_visible()
    snap("payouts-not-linked")

    page.get_by_role("button", name="Link a Stripe account").click()
    page.wait_for_url(base_url + "/balance/payout/")
    expect(page.get_by_text("Your Stripe account is linked and ready for payouts.")).to_be_visible()
    expect(page.locator(".payout-account__state")).to_have_text("Ready")
    account = ConnectedAccount.objects.get(user=seller)
    assert account.ready
    snap("payouts-ready")

    page.get_by_role("button", name=re.compile(r"^Pay out ")).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Pay out .*\?"))).to_be_visible()
    expect(page.locator("main")).to_contain_text(account.stripe_account_id)
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT).exists()
    snap("payout-confirm")

    page.get_by_role("button", name=re.compile(r"^Yes, pay out")).click()
    expect(page.get_by_text(re.compile("Payout sent to your Stripe account"))).to_be_visible()
    ids = page.locator("table.payouts code").all_inner_texts()
    assert ids and all(i.startswith("tr_") for i in ids)
    snap("payouts-made")
    return ids


def test_a_seller_links_a_stripe_account_and_is_paid_out(
    page: Page, browser_server, page_watch, artifacts, stripe_account, settings, time_machine
):
    boundary = boundary_fresh(stripe_account)
    url = browser_server.url
    settings.HANDOVER_BASE_URL = url
    seller, buyer = make_user("studio"), make_user("ana")
    support = make_user("agent", Role.SUPPORT)
    time_machine.move_to(timezone.now(), tick=True)
    order = cleared_order(time_machine, buyer=buyer, seller=seller, support=support)
    log_in(page, url, seller.username)

    ids = link_and_pay_out(page, url, seller, Checked(page, artifacts, url))

    [transfer] = transfers(boundary)
    assert ids == [transfer["id"]]
    assert (transfer["amount"], transfer["currency"]) == (8000, "eur")
    assert transfer["transfer_group"] == f"order-{order.pk}"
    [payout] = LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT)
    assert (payout.order_id, payout.reference) == (order.pk, transfer["id"])
    # The one request to another host is the navigation to Stripe's onboarding and back.
    onboarding = f"outside request: {stripe_account.url}/connect/onboarding/"
    assert [p for p in page_watch.problems if not p.startswith(onboarding)] == []
    assert len(page_watch.problems) == 1
