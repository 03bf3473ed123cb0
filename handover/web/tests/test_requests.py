"""Cancellation, late cancel, disputes and early release through the pages: each asks first
where it cannot be undone, calls the API's service, and a refusal changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from handover.disputes.models import Dispute
from handover.evidence.models import EventType
from handover.orders.rules import Actor, State
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors, page_messages

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.clock_start(T0)


@pytest.fixture
def parties(clock, buyer, seller, support):
    return {"buyer": buyer, "seller": seller, "support": support}


@pytest.fixture
def delivered(parties):
    return order_in_state(State.DELIVERED, **parties)


def page(response) -> str:
    return response.content.decode()


def last_action(order) -> str:
    event = order.events.filter(type=EventType.ORDER_TRANSITION).order_by("id").last()
    return event.payload["action"]


# --- Asking to cancel ---


def test_the_buyer_asks_to_cancel_with_a_partial_refund(client, delivered, buyer):
    client.force_login(buyer)
    assert f'href="/orders/{delivered.pk}/request-cancellation/"' in page(
        client.get(f"/orders/{delivered.pk}/")
    )
    form = client.get(f"/orders/{delivered.pk}/request-cancellation/")
    assert 'value="105.50"' in page(form)  # the full total by default
    response = client.post(
        f"/orders/{delivered.pk}/request-cancellation/",
        {"text": "The brief changed.", "refund": "60.25"},
        follow=True,
    )
    delivered.refresh_from_db()
    assert delivered.state == State.CANCELLATION_REQUESTED
    assert (delivered.cancellation_refund, delivered.cancellation_requested_by) == (6025, "buyer")
    assert page_messages(response) == [
        "Cancellation requested. The other party can accept or decline it."
    ]
    html = page(response)
    assert "You asked to cancel" in html and "Withdraw your request" in html
    assert "Agree to cancel" not in html


@pytest.mark.parametrize(
    ("refund", "error"),
    [
        ("105.51", "The refund can be at most the total of 105.50 EUR."),
        ("10.001", "EUR amounts have at most 2 decimals."),
        ("-5", "Write the amount in digits, like 120.50."),
    ],
)
def test_a_refund_out_of_bounds_is_refused_beside_its_field(
    client, delivered, buyer, refund, error
):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(
        f"/orders/{delivered.pk}/request-cancellation/", {"text": "x", "refund": refund}
    )
    assert response.status_code == 422
    assert field_errors(response, "refund") == [error]
    assert db_snapshot() == before


@pytest.fixture
def requested(parties):
    return order_in_state(
        State.CANCELLATION_REQUESTED,
        **parties,
        from_state=State.DELIVERED,
        requested_by=Actor.SELLER,
        refund=5000,
    )


def test_the_other_party_agrees_after_a_confirmation(client, requested, buyer):
    client.force_login(buyer)
    html = page(client.get(f"/orders/{requested.pk}/"))
    assert "The seller asks to cancel" in html and "50.00 EUR" in html
    assert "Withdraw your request" not in html
    confirm = client.get(f"/orders/{requested.pk}/accept-cancellation/")
    assert "the buyer gets 50.00 EUR back" in page(confirm)
    assert "the seller is paid the remaining 55.50 EUR" in page(confirm)
    requested.refresh_from_db()
    assert requested.state == State.CANCELLATION_REQUESTED
    response = client.post(f"/orders/{requested.pk}/accept-cancellation/", follow=True)
    requested.refresh_from_db()
    assert requested.state == State.CANCELLED and requested.refunded == 5000
    assert last_action(requested) == "accept_cancellation"
    assert page_messages(response) == [
        "You agreed: the order is cancelled and the refund is on its way to the buyer."
    ]


def test_the_other_party_declines_with_a_message(client, requested, buyer):
    client.force_login(buyer)
    empty = client.post(f"/orders/{requested.pk}/decline-cancellation/", {"text": " "})
    assert empty.status_code == 422
    assert field_errors(empty, "text") == ["This field is required."]
    response = client.post(
        f"/orders/{requested.pk}/decline-cancellation/",
        {"text": "Please finish the logo."},
        follow=True,
    )
    requested.refresh_from_db()
    assert requested.state == State.DELIVERED
    assert last_action(requested) == "decline_cancellation"
    assert page_messages(response) == [
        "You declined the cancellation; the order goes on where it was."
    ]


def test_the_requester_cannot_answer_their_own_request(client, requested, seller):
    client.force_login(seller)
    before = db_snapshot()
    response = client.get(f"/orders/{requested.pk}/accept-cancellation/", follow=True)
    assert page_messages(response) == ["That is not possible on this order now."]
    response = client.post(f"/orders/{requested.pk}/accept-cancellation/", follow=True)
    assert page_messages(response) == ["The other party answers a cancellation request."]
    client.post(f"/orders/{requested.pk}/decline-cancellation/", {"text": "no"})
    assert db_snapshot() == before


def test_the_requester_withdraws(client, requested, seller, buyer):
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{requested.pk}/withdraw-cancellation/", follow=True)
    assert page_messages(response) == [
        "Only the party who asked can withdraw a cancellation request."
    ]
    assert db_snapshot() == before
    client.force_login(seller)
    client.post(f"/orders/{requested.pk}/withdraw-cancellation/")
    requested.refresh_from_db()
    assert requested.state == State.DELIVERED
    assert last_action(requested) == "withdraw_cancellation"


# --- A late order ---


def test_the_buyer_cancels_a_late_order_after_a_confirmation(client, clock, parties, buyer):
    order = order_in_state(State.IN_PROGRESS, **parties)
    client.force_login(buyer)
    assert "Cancel the late order" not in page(client.get(f"/orders/{order.pk}/"))
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/cancel-late/", follow=True)
    assert page_messages(response) == [
        "The order is not late: it is within its delivery time or was delivered."
    ]
    assert db_snapshot() == before

    clock.move_to(T0 + timedelta(days=4), tick=False)
    assert "Cancel the late order" in page(client.get(f"/orders/{order.pk}/"))
    confirm = client.get(f"/orders/{order.pk}/cancel-late/")
    assert "refunds your full payment of 105.50 EUR" in page(confirm)
    response = client.post(f"/orders/{order.pk}/cancel-late/", follow=True)
    order.refresh_from_db()
    assert order.state == State.CANCELLED and order.refunded == order.total
    assert page_messages(response) == [
        "The late order is cancelled; your full payment is refunded."
    ]


def test_the_seller_cannot_cancel_late(client, clock, parties, seller):
    order = order_in_state(State.IN_PROGRESS, **parties)
    clock.move_to(T0 + timedelta(days=4), tick=False)
    client.force_login(seller)
    before = db_snapshot()
    client.post(f"/orders/{order.pk}/cancel-late/")
    assert db_snapshot() == before


# --- Disputes ---


def test_either_party_opens_a_dispute_with_a_reason(client, delivered, seller):
    client.force_login(seller)
    form = client.get(f"/orders/{delivered.pk}/open-dispute/")
    assert "Yes, open the dispute" in page(form)
    empty = client.post(f"/orders/{delivered.pk}/open-dispute/", {"text": ""})
    assert empty.status_code == 422 and field_errors(empty, "text") == ["This field is required."]
    response = client.post(
        f"/orders/{delivered.pk}/open-dispute/", {"text": "No answer for a week."}, follow=True
    )
    delivered.refresh_from_db()
    assert delivered.state == State.DISPUTED
    dispute = Dispute.objects.get(order=delivered)
    assert dispute.reason == "No answer for a week."
    assert page_messages(response) == [
        "Dispute opened. Support will read the order's record and decide."
    ]


def test_a_dispute_cannot_be_opened_twice(client, parties, buyer):
    order = order_in_state(State.DISPUTED, **parties)
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/open-dispute/", {"text": "x"}, follow=True)
    assert page_messages(response) == ["A dispute cannot be opened on this order now."]
    assert db_snapshot() == before


# --- Early release ---


def test_the_seller_releases_originals_early_after_a_warning(client, delivered, seller, buyer):
    delivery = delivered.deliveries.get()
    url = f"/orders/{delivered.pk}/deliveries/{delivery.pk}/release/"
    client.force_login(seller)
    assert f'href="{url}"' in page(client.get(f"/orders/{delivered.pk}/"))
    warning = client.get(url)
    assert "This cannot be undone." in page(warning) and "work.png" in page(warning)
    delivery.refresh_from_db()
    assert delivery.released_early_at is None
    response = client.post(url, follow=True)
    delivery.refresh_from_db()
    assert delivery.released_early_at is not None
    assert page_messages(response) == ["The originals of this delivery are released to the buyer."]
    assert delivered.events.filter(type=EventType.DELIVERY_RELEASED_EARLY).count() == 1
    client.force_login(buyer)
    html = page(client.get(f"/orders/{delivered.pk}/"))
    assert "The originals of this delivery are released to you." in html
    assert f'href="/files/{delivery.files.get().pk}/original/"' in html


def test_the_buyer_cannot_release_early(client, delivered, buyer):
    delivery = delivered.deliveries.get()
    client.force_login(buyer)
    before = db_snapshot()
    url = f"/orders/{delivered.pk}/deliveries/{delivery.pk}/release/"
    assert page_messages(client.get(url, follow=True)) == [
        "That is not possible on this order now."
    ]
    response = client.post(url, follow=True)
    assert page_messages(response) == ["Only the seller of an open order releases originals early."]
    assert db_snapshot() == before


def test_a_delivery_of_another_order_is_404(client, delivered, parties, seller):
    other = order_in_state(State.DELIVERED, **parties)
    client.force_login(seller)
    before = db_snapshot()
    url = f"/orders/{delivered.pk}/deliveries/{other.deliveries.get().pk}/release/"
    assert client.post(url).status_code == 404
    assert db_snapshot() == before


# --- Strangers ---

STRANGER_PATHS = [
    ("get", "request-cancellation/"),
    ("post", "request-cancellation/"),
    ("get", "accept-cancellation/"),
    ("post", "accept-cancellation/"),
    ("get", "decline-cancellation/"),
    ("post", "decline-cancellation/"),
    ("post", "withdraw-cancellation/"),
    ("get", "cancel-late/"),
    ("post", "cancel-late/"),
    ("get", "open-dispute/"),
    ("post", "open-dispute/"),
    ("post", "accept-order/"),
    ("get", "decline-order/"),
    ("post", "decline-order/"),
    ("get", "deliver/"),
]


@pytest.mark.parametrize(("method", "path"), STRANGER_PATHS)
def test_a_stranger_gets_404_and_changes_nothing(client, requested, stranger, method, path):
    client.force_login(stranger)
    before = db_snapshot()
    data = {"text": "x", "refund": "1"} if method == "post" else {}
    assert getattr(client, method)(f"/orders/{requested.pk}/{path}", data).status_code == 404
    assert db_snapshot() == before


def test_a_stranger_cannot_release_early(client, delivered, stranger):
    delivery = delivered.deliveries.get()
    client.force_login(stranger)
    before = db_snapshot()
    url = f"/orders/{delivered.pk}/deliveries/{delivery.pk}/release/"
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    assert db_snapshot() == before
