"""What the order page tells each party: the seller what they will be paid, the buyer what
they pay, times in the viewer's zone, the record in plain words with the states as badges,
why a refunded or charged-back order's originals are refused."""

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.test import Client

from handover.delivery.models import DeliveryFile
from handover.evidence.models import EventType
from handover.ledger.rules import shares
from handover.lib.money import format_amount
from handover.ops.timers import timers_run_due
from handover.orders.cancellation import order_accept_cancellation
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.factories import make_offer, order_in_state
from handover.web.tests.helpers import page_messages

T0 = datetime(2026, 5, 4, 22, 30, tzinfo=UTC)

pytestmark = pytest.mark.clock_start(T0)


@pytest.fixture
def parties(clock, buyer, seller, support):
    return {"buyer": buyer, "seller": seller, "support": support}


def page_of(client: Client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return unescape(response.content.decode())


def amounts(html: str) -> dict[str, str]:
    """The order panel's amounts: each term beside its value, tags left out."""
    found = re.search(r'<dl class="facts facts--amounts">(.*?)</dl>', html, re.S)
    assert found is not None
    rows = re.findall(r"<dt[^>]*>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", found.group(1), re.S)
    return {term.strip(): value.strip() for term, value in rows}


def eur(amount: int) -> str:
    return format_amount(amount, "EUR")


# --- amounts -------------------------------------------------------------------------------


def test_the_seller_sees_what_they_will_be_paid_and_the_buyer_what_they_pay(
    client, parties, buyer, seller
):
    order = order_in_state(State.IN_PROGRESS, **parties)
    # The ledger's own split: what completion will post to the seller.
    paid = shares(total=order.total, price=order.price, seller_fee=order.seller_fee, refund=0)

    as_seller = amounts(page_of(client, seller, f"/orders/{order.pk}/"))
    assert as_seller == {
        "Price": eur(order.price),
        "Platform fee": "\N{MINUS SIGN}" + eur(order.price - paid.seller),
        "You will be paid": eur(paid.seller),
    }
    assert paid.seller == order.price - order.seller_fee  # price less the fee (20 %)
    as_buyer = amounts(page_of(client, buyer, f"/orders/{order.pk}/"))
    assert as_buyer == {
        "Price": eur(order.price),
        "Service fee": eur(order.buyer_fee),
        "You paid": eur(order.total),
    }


def test_after_a_partial_refund_the_seller_sees_the_share_the_ledger_settled(
    client, parties, buyer, seller
):
    refund = 6000
    order = order_in_state(State.CANCELLED, **parties, refund=refund)
    settled = shares(
        total=order.total, price=order.price, seller_fee=order.seller_fee, refund=refund
    )
    assert order.refunded == refund

    assert amounts(page_of(client, seller, f"/orders/{order.pk}/")) == {
        "Price": eur(order.price),
        "Refunded to the buyer": eur(refund),
        "You are paid": eur(settled.seller),
    }
    as_buyer = amounts(page_of(client, buyer, f"/orders/{order.pk}/"))
    assert as_buyer["Refunded to you"] == eur(refund)
    assert "Platform fee" not in as_buyer and "You will be paid" not in as_buyer


def test_an_unpaid_order_tells_the_buyer_what_they_will_pay(client, parties, buyer):
    order = order_in_state(State.PENDING_PAYMENT, **parties)
    assert amounts(page_of(client, buyer, f"/orders/{order.pk}/"))["You pay"] == eur(order.total)


def test_a_charged_back_order_pays_the_seller_nothing(client, parties, seller):
    order = order_in_state(State.CHARGED_BACK, **parties)
    shown = amounts(page_of(client, seller, f"/orders/{order.pk}/"))
    assert shown["You are paid"] == "nothing: the payment was charged back"


# --- times ---------------------------------------------------------------------------------


def test_times_are_shown_in_the_viewers_time_zone(client, parties, buyer):
    order = order_in_state(State.IN_PROGRESS, **parties)
    assert order.created_at == T0
    buyer.time_zone = "Pacific/Auckland"  # UTC+12 in May; every page uses the viewer's zone
    buyer.save(update_fields=["time_zone"])
    html = page_of(client, buyer, f"/orders/{order.pk}/")
    assert "5 May 2026, 10:30" in html  # placed, in Auckland
    assert "4 May 2026, 22:30" not in html
    # The timeline's days are Auckland's too.
    assert 'datetime="2026-05-05"' in html and "Tuesday 5 May 2026" in html


# --- the timeline --------------------------------------------------------------------------


def timeline(html: str) -> list[str]:
    found = re.search(r'<ol class="timeline" role="list">(.*)</ol>', html, re.S)
    assert found is not None
    summaries = re.findall(r'<p class="timeline__summary">(.*?)</p>', found.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)).strip() for s in summaries]


def test_the_timeline_says_what_happened_in_plain_words(client, parties, buyer):
    order = order_in_state(State.DELIVERED, **parties)
    html = page_of(client, buyer, f"/orders/{order.pk}/")
    lines = timeline(html)
    # (The clock stands still here: items of one instant come in the selector's order.)
    assert sorted(lines) == sorted(
        [
            "Placed the order",
            "Started the payment",
            "Payment received: the money is held in escrow Now: In progress",
            "Delivered 1 file (work.png): “Done” Now: Delivered",
            "Preview ready: work.png",
        ]
    )
    # State names only as badges, never as raw words; nobody called "worker".
    assert "in_progress" not in " ".join(lines) and "→" not in html
    assert not re.search(r"(?i)worker", timeline_html(html))
    assert '<span class="timeline__state badge--in_progress">' in html
    # Handover made the preview, and the payment provider took the payment.
    meta = re.findall(r'<span class="timeline__actor">(.*?)</span>\s*</p>', html, re.S)
    assert any("Handover" in m for m in meta) and any("payment provider" in m for m in meta)


def timeline_html(html: str) -> str:
    return html[html.index('<ol class="timeline"') :]


def test_a_timer_that_ran_out_is_said_as_handover_acting(
    client, parties, buyer, seller, time_machine, settings
):
    offer = make_offer(seller, requires_acceptance=True)
    order = order_in_state(State.AWAITING_ACCEPTANCE, **parties, offer=offer)
    time_machine.shift(settings.HANDOVER_ACCEPTANCE_WINDOW)
    assert timers_run_due()["fired"] == 1
    html = page_of(client, buyer, f"/orders/{order.pk}/")
    # The refund the timer's move sent follows it, as the payment provider's doing.
    assert timeline(html)[-2:] == [
        "The seller did not accept in time: the order is cancelled and the buyer refunded"
        " Now: Cancelled",
        "The refund of 105.50 EUR to the buyer was sent",
    ]
    actors = re.findall(r'<span class="timeline__actor">(.*?)</span>\s*</p>', html, re.S)
    assert actors[-2:] == ["Handover", "The payment provider"]  # not "timer"


# --- refused originals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (
            State.CANCELLED,
            "This order was cancelled and refunded, so its originals are not released to you.",
        ),
        (
            State.CHARGED_BACK,
            "The payment for this order was charged back, so access to its originals ended.",
        ),
    ],
)
def test_a_refused_original_after_a_refund_or_chargeback_says_why(
    client, parties, buyer, state, why
):
    if state == State.CANCELLED:  # the buyer asked, after the delivery; the seller agreed
        order = order_in_state(State.CANCELLATION_REQUESTED, **parties, from_state=State.DELIVERED)
        order_accept_cancellation(order_id=order.pk, user=parties["seller"])
    else:
        order = order_in_state(state, **parties)
    file = DeliveryFile.objects.get(delivery__order=order)
    client.force_login(buyer)
    before = Order.objects.get(pk=order.pk).state
    response = client.get(f"/files/{file.pk}/original/", follow=True)
    assert page_messages(response) == [why]
    assert why in unescape(response.content.decode())  # and on the page, beside the files
    assert order.events.filter(type=EventType.ORIGINAL_REFUSED).count() == 1
    assert Order.objects.get(pk=order.pk).state == before
