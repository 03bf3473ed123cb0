"""Paying by card in a real browser (Debian's Chromium): the buyer types a test card into the
card element of the Stripe.js that localstripe serves (with the card confirmation localstripe
lacks added at the test boundary: ``testing.stripe_js``), localstripe's signed webhook is
posted on to the app, the order starts, the seller delivers and the buyer accepts; once the
funds clear, the seller links a Stripe Express account through Stripe's onboarding and is paid
out. localstripe lacks Connect: the onboarding page and the Transfer are answered by the test
boundary server with Stripe's documented shapes (``testing.stripe_connect``), as Stripe would.

Each key page is checked at a phone's width and saved as a screenshot, to look at."""

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from handover.accounts.models import User
from handover.billing.models import ConnectedAccount
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.ops.timers import timers_run_due
from handover.orders.rules import State
from handover.settings import stripe_csp
from handover.testing.actors import Api, make_user
from handover.testing.factories import make_offer
from handover.testing.payout_steps import boundary_fresh
from handover.testing.steps import ok
from handover.testing.stripe import DECLINED_CARD, GOOD_CARD, WEBHOOK_PATH, Delivery
from handover.testing.stripe_connect import transfers
from handover.web.tests.report_steps import Checked
from handover.web.tests.test_stories import Windows, deliver, moves, order_of, windows  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post_on(server_url: str, delivery: Delivery) -> dict:
    """Hand localstripe's webhook delivery to the live server, as Stripe would."""
    request = urllib.request.Request(
        server_url + WEBHOOK_PATH,
        data=delivery.body,
        headers={"Content-Type": "application/json", "Stripe-Signature": delivery.signature},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def type_card(page: Page, number: str) -> None:
    """Fill the card element (localstripe's has one input per field)."""
    card = page.locator("#card-element")
    for field, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "40"),
        ("cvc", "123"),
        ("postal_code", "75001"),
    ):
        card.get_by_placeholder(field, exact=True).fill(value)


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


def test_the_buyer_pays_by_card_the_seller_delivers_the_buyer_accepts_and_the_seller_is_paid(
    windows: Windows,  # noqa: F811
    browser_server,
    artifacts: Path,
    stripe_account,
    settings,
    time_machine,
):
    settings.SECURE_CSP = stripe_csp(settings.SECURE_CSP, stripe_account.url)
    boundary = boundary_fresh(stripe_account)
    url = browser_server.url
    settings.HANDOVER_BASE_URL = url  # Stripe's onboarding sends the seller back here
    seller, buyer = make_user("studio"), make_user("ana")
    offer = make_offer(seller, title="Bakery logo")

    buyer_page = windows.open(buyer)
    snap = Checked(buyer_page, artifacts, url)  # and axe-core on each page

    # A first order, paid with a card the bank declines: Stripe's words beside the form.
    declined_order_id = ok(
        Api(buyer).post("/orders", {"offer_id": offer.pk, "answers": ["Acme", "Brown"]}), 201
    )["id"]
    buyer_page.goto(f"{url}/orders/{declined_order_id}/")
    buyer_page.get_by_role("button", name=re.compile(r"^Pay .* by card$")).click()
    type_card(buyer_page, DECLINED_CARD)
    buyer_page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(buyer_page.locator("#card-errors")).to_have_text(re.compile("declined", re.I))
    snap("buyer-card-declined", buyer_page)
    assert order_of(buyer_page.url).state == State.PENDING_PAYMENT

    # The order itself, paid with a good card.
    buyer_page.goto(f"{url}/offers/{offer.pk}/")
    buyer_page.get_by_role("link", name="Continue to order").click()
    buyer_page.get_by_label("Company name?").fill("Acme Bakery")
    buyer_page.get_by_label("Colours?").fill("Warm brown and cream")
    buyer_page.get_by_role("button", name="Place order").click()
    buyer_page.get_by_role("button", name=re.compile(r"^Pay .* by card$")).click()
    expect(buyer_page.get_by_role("heading", name=re.compile("by card"))).to_be_visible()
    type_card(buyer_page, GOOD_CARD)
    snap("buyer-card-form", buyer_page)
    buyer_page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(buyer_page.get_by_text("Your card payment is being confirmed")).to_be_visible()
    order_url = buyer_page.url.split("?")[0]
    order = order_of(order_url)
    assert order.state == State.PENDING_PAYMENT  # nothing starts before Stripe's word
    snap("buyer-payment-being-confirmed", buyer_page)

    delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", order.payment_reference)
    assert post_on(url, delivery)["result"] == "applied"
    # The page refreshes itself until the order has moved.
    expect(buyer_page.locator(".badge")).to_have_text("In progress", timeout=10_000)
    expect(buyer_page.get_by_text("being confirmed")).to_have_count(0)
    snap("buyer-order-paid", buyer_page)

    seller_page = windows.open(seller)
    deliver(seller_page, order_url, "logo.png", 1, "The logo, as agreed.")
    buyer_page.goto(order_url)
    buyer_page.get_by_role("link", name="Accept the delivery").click()
    buyer_page.get_by_role("button", name="Yes, accept and release the payment").click()
    expect(buyer_page.locator(".badge")).to_have_text("Completed")
    snap("buyer-order-completed", buyer_page)

    order.refresh_from_db()
    assert order.state == State.COMPLETED
    assert moves(order) == ["pay", "deliver", "accept"]
    capture = LedgerTransaction.objects.get(order=order, kind=TransactionKind.CAPTURE)
    assert capture.reference == order.payment_reference.strip() != ""
    # Stripe.js talks to Stripe (here the test boundary) and nothing else leaves the site; the
    # one failed load is Stripe's 402 for the declined card, which the form showed.
    problems = [p for p in windows.problems if stripe_account.url not in p]
    assert [p for p in problems if "status of 402" not in p] == []

    # The funds clear; the seller links a Stripe account and is paid out by a Transfer.
    time_machine.move_to(
        timezone.now() + django_settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1),
        tick=True,
    )
    assert timers_run_due()["cleared"] == 1
    seller_page = windows.open(seller)  # two weeks on: a fresh sign-in
    ids = link_and_pay_out(seller_page, url, seller, Checked(seller_page, artifacts, url))
    [transfer] = transfers(boundary)
    assert ids == [transfer["id"]]
    assert (transfer["amount"], transfer["currency"]) == (order.price - order.seller_fee, "eur")
    assert transfer["transfer_group"] == f"order-{order.pk}"
    [payout] = LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT)
    assert (payout.order_id, payout.reference) == (order.pk, transfer["id"])
