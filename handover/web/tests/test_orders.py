"""The buyer's order pages: each view calls the API's service, strangers get 404, and a
refused or malformed POST changes nothing."""

from datetime import UTC, datetime

import pytest

from handover.evidence.models import EventType
from handover.orders.models import Message, Order
from handover.orders.rules import State
from handover.orders.services import order_place
from handover.testing.factories import make_offer, order_in_state
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors, page_messages

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.clock_start(T0)


@pytest.fixture
def unpaid(offer, buyer) -> Order:
    return order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])


@pytest.fixture
def delivered(clock, buyer, seller, support) -> Order:
    return order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)


@pytest.fixture
def in_progress(clock, buyer, seller, support) -> Order:
    return order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)


def page(response) -> str:
    return response.content.decode()


def transitions(order: Order) -> list[str]:
    events = order.events.filter(type=EventType.ORDER_TRANSITION).order_by("id")
    return [event.payload["action"] for event in events]


# --- Who sees what ---


def test_my_orders_lists_what_i_bought_and_nothing_else(client, unpaid, buyer, seller, stranger):
    other = order_place(buyer=stranger, offer_id=unpaid.offer_id, answers=["X", "Y"])
    client.force_login(buyer)
    html = page(client.get("/orders/"))
    assert f'href="/orders/{unpaid.pk}/"' in html and "Awaiting payment" in html
    assert f'href="/orders/{other.pk}/"' not in html


def test_order_pages_need_a_login(client, unpaid):
    response = client.get(f"/orders/{unpaid.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_parties_and_support_see_the_order(client, unpaid, buyer, seller, support):
    for user in (buyer, seller, support):
        client.force_login(user)
        assert client.get(f"/orders/{unpaid.pk}/").status_code == 200


STRANGER_REQUESTS = [
    ("get", ""),
    ("post", "pay/"),
    ("get", "abandon/"),
    ("post", "abandon/"),
    ("get", "accept/"),
    ("post", "accept/"),
    ("get", "request-revision/"),
    ("post", "request-revision/"),
    ("post", "auto-complete/"),
    ("post", "messages/"),
]


@pytest.mark.parametrize(("method", "path"), STRANGER_REQUESTS)
def test_a_stranger_gets_404_on_someone_elses_order_and_changes_nothing(
    client, delivered, stranger, method, path
):
    client.force_login(stranger)
    before = db_snapshot()
    data = {"text": "x", "enabled": "off"} if method == "post" else {}
    response = getattr(client, method)(f"/orders/{delivered.pk}/{path}", data)
    assert response.status_code == 404
    assert db_snapshot() == before


def test_an_unknown_order_is_404(client, buyer):
    client.force_login(buyer)
    assert client.get("/orders/999999/").status_code == 404


# --- The order page ---


def test_the_order_page_shows_state_requirements_amounts_and_the_pay_button(client, unpaid, buyer):
    client.force_login(buyer)
    html = page(client.get(f"/orders/{unpaid.pk}/"))
    for text in (
        "Awaiting payment",
        "Company name?",
        "Acme",
        "100.00 EUR",
        "5.50 EUR",
        "Pay 105.50 EUR",
        "Cancelled unless paid within 59 minutes",
        f'href="/orders/{unpaid.pk}/abandon/"',
    ):
        assert text in html
    assert "Accept the delivery" not in html
    assert "Turn off auto-complete" not in html  # nothing to complete before payment


def test_a_delivered_order_shows_the_timer_the_files_and_the_buyers_choices(
    client, delivered, buyer
):
    client.force_login(buyer)
    html = page(client.get(f"/orders/{delivered.pk}/"))
    for text in (
        "Delivered",
        "Auto-completes in 3 days",
        "work.png",
        "Watermarked preview of work.png",
        "The original files unlock when you accept the delivery.",
        f'href="/orders/{delivered.pk}/accept/"',
        "Request a revision (1 left)",
        "Turn off auto-complete",
    ):
        assert text in html


def test_the_seller_sees_the_order_without_the_buyers_buttons(client, delivered, seller):
    client.force_login(seller)
    html = page(client.get(f"/orders/{delivered.pk}/"))
    assert "work.png" in html
    assert "Accept the delivery" not in html and "Turn off auto-complete" not in html
    assert "The original files unlock" not in html


def test_a_completed_order_says_the_originals_are_released(client, clock, buyer, seller, support):
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    client.force_login(buyer)
    html = page(client.get(f"/orders/{order.pk}/"))
    assert "The originals of this delivery are released to you." in html
    assert "The original files unlock" not in html


# --- Pay and abandon ---


def test_paying_with_the_test_provider_starts_the_order(client, unpaid, buyer):
    client.force_login(buyer)
    response = client.post(f"/orders/{unpaid.pk}/pay/", follow=True)
    unpaid.refresh_from_db()
    assert unpaid.state == State.IN_PROGRESS
    assert transitions(unpaid) == ["pay"]
    assert page_messages(response) == [
        "Paid. Your money is held in escrow; the seller has started."
    ]
    assert "Delivery due in" in page(response)


def test_paying_by_transfer_shows_the_instructions_and_waits(client, offer, buyer, settings):
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    client.force_login(buyer)
    response = client.post(f"/orders/{order.pk}/pay/", follow=True)
    order.refresh_from_db()
    assert order.state == State.PENDING_PAYMENT
    [instructions] = page_messages(response)
    assert instructions.startswith("Transfer 105.50 EUR with the reference HOV-")
    assert "Show the payment details again" in page(response)


def test_paying_twice_is_refused_and_changes_nothing(client, in_progress, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{in_progress.pk}/pay/", follow=True)
    assert page_messages(response) == ["Only the buyer pays, and only an order awaiting payment."]
    assert db_snapshot() == before


def test_the_seller_cannot_pay(client, unpaid, seller):
    client.force_login(seller)
    before = db_snapshot()
    client.post(f"/orders/{unpaid.pk}/pay/")
    assert db_snapshot() == before


def test_abandoning_asks_first_then_cancels(client, unpaid, buyer):
    client.force_login(buyer)
    confirm = client.get(f"/orders/{unpaid.pk}/abandon/")
    assert confirm.status_code == 200
    assert "Yes, cancel the order" in page(confirm)
    unpaid.refresh_from_db()
    assert unpaid.state == State.PENDING_PAYMENT  # asking changed nothing
    response = client.post(f"/orders/{unpaid.pk}/abandon/", follow=True)
    unpaid.refresh_from_db()
    assert unpaid.state == State.CANCELLED
    assert page_messages(response) == ["The unpaid order is cancelled."]


def test_get_is_refused_on_post_only_actions(client, unpaid, buyer):
    client.force_login(buyer)
    for path in ("pay/", "auto-complete/", "messages/"):
        assert client.get(f"/orders/{unpaid.pk}/{path}").status_code == 405


# --- Accept ---


def test_accepting_asks_first_then_completes_the_order(client, delivered, buyer):
    client.force_login(buyer)
    confirm = client.get(f"/orders/{delivered.pk}/accept/")
    assert confirm.status_code == 200
    assert "your payment of 105.50 EUR, held in escrow, is released" in page(confirm)
    assert "Yes, accept and release the payment" in page(confirm)
    response = client.post(f"/orders/{delivered.pk}/accept/", follow=True)
    delivered.refresh_from_db()
    assert delivered.state == State.COMPLETED and delivered.settled_at is not None
    assert transitions(delivered)[-1] == "accept"
    assert page_messages(response) == [
        "You accepted the delivery: the originals are yours and the seller is paid."
    ]


def test_accept_is_not_offered_before_a_delivery(client, in_progress, buyer):
    client.force_login(buyer)
    assert "Accept the delivery" not in page(client.get(f"/orders/{in_progress.pk}/"))
    response = client.get(f"/orders/{in_progress.pk}/accept/", follow=True)
    assert response.redirect_chain == [(f"/orders/{in_progress.pk}/", 302)]
    assert page_messages(response) == ["That is not possible on this order now."]


def test_a_refused_accept_changes_nothing(client, in_progress, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{in_progress.pk}/accept/", follow=True)
    assert page_messages(response) == ["Accept is not possible while the order is in_progress."]
    assert db_snapshot() == before


def test_the_seller_cannot_accept_their_own_delivery(client, delivered, seller):
    client.force_login(seller)
    before = db_snapshot()
    client.post(f"/orders/{delivered.pk}/accept/")
    assert db_snapshot() == before


# --- Request a revision ---


def test_requesting_a_revision_uses_one_and_sends_the_work_back(client, delivered, buyer):
    client.force_login(buyer)
    form = client.get(f"/orders/{delivered.pk}/request-revision/")
    assert form.status_code == 200 and "You have 1 revision left; this request uses one." in page(
        form
    )
    response = client.post(
        f"/orders/{delivered.pk}/request-revision/", {"text": "Bigger letters."}, follow=True
    )
    delivered.refresh_from_db()
    assert delivered.state == State.REVISION_REQUESTED and delivered.revisions_left == 0
    assert delivered.events.order_by("id").last().payload["message"] == "Bigger letters."
    assert page_messages(response) == ["Revision requested. The seller will deliver again."]


def test_a_revision_request_needs_a_message_beside_its_field(client, delivered, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{delivered.pk}/request-revision/", {"text": "  "})
    assert response.status_code == 422
    assert field_errors(response, "text") == ["This field is required."]
    assert db_snapshot() == before


def test_no_revision_is_offered_when_none_are_left(client, clock, buyer, seller, support):
    offer = make_offer(seller, revisions=0)
    order = order_in_state(
        State.DELIVERED, buyer=buyer, seller=seller, support=support, offer=offer
    )
    client.force_login(buyer)
    assert "Request a revision" not in page(client.get(f"/orders/{order.pk}/"))
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/request-revision/", {"text": "Again"}, follow=True)
    assert page_messages(response) == ["A revision cannot be requested on this order now."]
    assert db_snapshot() == before


# --- Auto-complete ---


def test_the_buyer_turns_auto_complete_off_and_on(client, delivered, buyer):
    client.force_login(buyer)
    response = client.post(
        f"/orders/{delivered.pk}/auto-complete/", {"enabled": "off"}, follow=True
    )
    delivered.refresh_from_db()
    assert delivered.auto_complete is False and delivered.timer_at is None
    assert page_messages(response) == ["Auto-complete is off for this order."]
    html = page(response)
    assert "Auto-complete is off: the order completes when the buyer accepts" in html
    assert "Turn auto-complete back on" in html
    assert delivered.events.filter(type=EventType.AUTO_COMPLETE_CHANGED).count() == 1

    client.post(f"/orders/{delivered.pk}/auto-complete/", {"enabled": "on"})
    delivered.refresh_from_db()
    assert delivered.auto_complete is True and delivered.timer_at is not None


def test_a_malformed_auto_complete_post_changes_nothing(client, delivered, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(
        f"/orders/{delivered.pk}/auto-complete/", {"enabled": "maybe"}, follow=True
    )
    assert page_messages(response) == ["Choose whether auto-complete is on or off."]
    assert db_snapshot() == before


# --- Chat ---


def test_a_message_goes_on_the_order_and_its_record(client, in_progress, buyer):
    client.force_login(buyer)
    response = client.post(f"/orders/{in_progress.pk}/messages/", {"text": "Hello there"})
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{in_progress.pk}/#chat"
    message = Message.objects.get(order=in_progress)
    assert (message.author, message.author_role, message.body) == (buyer, "buyer", "Hello there")
    assert in_progress.events.filter(type=EventType.MESSAGE_POSTED).count() == 1
    assert "Hello there" in page(client.get(f"/orders/{in_progress.pk}/"))


def test_a_message_sent_with_htmx_gets_the_chat_back(client, in_progress, seller):
    client.force_login(seller)
    response = client.post(
        f"/orders/{in_progress.pk}/messages/", {"text": "On it"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = page(response)
    assert html.lstrip().startswith('<section id="chat"') and "<html" not in html
    assert "On it" in html and "You" in html


def test_an_empty_message_is_refused_beside_its_field(client, in_progress, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{in_progress.pk}/messages/", {"text": " "})
    assert response.status_code == 422
    # The buyer may send files alone, so the text is asked for only without them.
    assert field_errors(response, "text") == ["Write a message or attach files."]
    htmx = client.post(
        f"/orders/{in_progress.pk}/messages/", {"text": ""}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 422 and "<html" not in page(htmx)
    assert field_errors(htmx, "text") == ["Write a message or attach files."]
    assert db_snapshot() == before
