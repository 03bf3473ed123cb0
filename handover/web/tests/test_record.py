"""The order's record on its page (the visual timeline, the evidence bundle), granting a
revision, reviews and reports: each calls the API's service or selector, asks first where it
cannot be undone, and a refusal changes nothing."""

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from handover.accounts.models import Role, User
from handover.disputes.services import support_note_add
from handover.evidence.models import EventType
from handover.orders.feedback import order_report, order_review
from handover.orders.models import Order
from handover.orders.rules import State
from handover.testing.actors import Api, make_user
from handover.testing.factories import make_offer, order_in_state
from handover.testing.snapshots import db_snapshot
from handover.trust.models import Report, ReportReason, Review
from handover.trust.services import MAX_OPEN_REPORTS, report_create
from handover.web.tests.helpers import field_errors, page_messages

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.clock_start(T0)


@pytest.fixture
def parties(clock, buyer, seller, support):
    return {"buyer": buyer, "seller": seller, "support": support}


@pytest.fixture
def completed(parties) -> Order:
    return order_in_state(State.COMPLETED, **parties)


def page(response) -> str:
    return response.content.decode()


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def radio_errors(response, field: str) -> list[str]:
    """The errors beside a group of radio buttons (``field_errors`` reads one control)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page(response))
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


# --- The timeline ---


def test_the_parties_see_the_timeline_without_supports_notes_or_reports(
    client, parties, buyer, seller, support
):
    order = order_in_state(State.DISPUTED, **parties)
    support_note_add(dispute_id=order.disputes.get().pk, user=support, text="Seen the files.")
    order_report(
        order_id=order.pk, reporter=buyer, subject_id=seller.pk, reason="abusive", text="Rude."
    )
    for party in (buyer, seller):
        html = page(signed_in(client, party).get(f"/orders/{order.pk}/"))
        assert 'class="timeline"' in html
        assert "Opened a dispute" in html and "timeline__item--request" in html
        assert "Seen the files." not in html and "timeline__item--note" not in html
        assert "Reported the other party to support" not in html
    html = page(signed_in(client, support).get(f"/orders/{order.pk}/"))
    assert "Seen the files." in html and "Reported the other party to support" in html


def test_a_support_agent_who_is_a_party_reads_the_timeline_as_a_party(client, clock, buyer):
    agent, other_agent = make_user("agent", Role.SUPPORT), make_user("desk", Role.SUPPORT)
    order = order_in_state(State.DISPUTED, buyer=buyer, seller=agent, support=other_agent)
    support_note_add(dispute_id=order.disputes.get().pk, user=other_agent, text="Seen it.")
    assert "Seen it." not in page(signed_in(client, agent).get(f"/orders/{order.pk}/"))


# --- The evidence bundle ---


def test_the_evidence_link_serves_the_same_bundle_as_the_api(client, completed, buyer):
    html = page(signed_in(client, buyer).get(f"/orders/{completed.pk}/"))
    assert f'href="/orders/{completed.pk}/evidence/"' in html
    response = client.get(f"/orders/{completed.pk}/evidence/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="order-{completed.pk}-evidence.zip"' in response["Content-Disposition"]
    # Read, not closed: closing a response here would end the test's database connection.
    web = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    api = Api(buyer).get(f"/orders/{completed.pk}/evidence")
    from_api = zipfile.ZipFile(io.BytesIO(b"".join(api.streaming_content)))
    assert sorted(web.namelist()) == sorted(from_api.namelist())


def test_a_stranger_gets_no_evidence_bundle(client, completed, stranger):
    assert signed_in(client, stranger).get(f"/orders/{completed.pk}/evidence/").status_code == 404


# --- Granting a revision ---


def test_the_seller_grants_a_revision_after_a_confirmation(client, parties, seller):
    order = order_in_state(State.REVISION_REQUESTED, **parties, offer=make_offer(seller))
    assert order.revisions_left == 0
    signed_in(client, seller)
    assert f'href="/orders/{order.pk}/grant-revision/"' in page(client.get(f"/orders/{order.pk}/"))
    confirm = client.get(f"/orders/{order.pk}/grant-revision/")
    assert "Yes, grant one more revision" in page(confirm)
    order.refresh_from_db()
    assert order.revisions_granted == 0  # asking changes nothing
    response = client.post(f"/orders/{order.pk}/grant-revision/", follow=True)
    assert page_messages(response) == ["You granted one more revision: the buyer may ask for it."]
    order.refresh_from_db()
    assert (order.revisions_granted, order.revisions_left) == (1, 1)
    event = order.events.get(type=EventType.REVISION_GRANTED)
    assert (event.actor, event.payload) == (seller, {"revisions_left": 1})


def test_a_revision_is_not_offered_while_the_buyer_has_some_left(client, parties, seller):
    order = order_in_state(State.DELIVERED, **parties)
    assert order.revisions_left == 1
    signed_in(client, seller)
    assert "grant-revision" not in page(client.get(f"/orders/{order.pk}/"))
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/grant-revision/", follow=True)
    assert page_messages(response) == [
        "The buyer has revisions left: grant one once they are used."
    ]
    assert db_snapshot() == before


def test_the_buyer_cannot_grant_a_revision(client, parties, buyer, seller):
    order = order_in_state(State.REVISION_REQUESTED, **parties, offer=make_offer(seller))
    before = db_snapshot()
    response = signed_in(client, buyer).post(f"/orders/{order.pk}/grant-revision/", follow=True)
    assert page_messages(response) == ["Only the seller grants a revision, on an open order."]
    assert db_snapshot() == before


# --- Reviews ---


def test_the_buyer_reviews_and_the_review_stays_hidden_from_the_seller(
    client, completed, buyer, seller
):
    signed_in(client, buyer)
    html = page(client.get(f"/orders/{completed.pk}/"))
    assert "Reviews are double-blind" in html
    assert f'href="/orders/{completed.pk}/review/"' in html
    response = client.post(
        f"/orders/{completed.pk}/review/", {"rating": "5", "text": "Quick."}, follow=True
    )
    assert page_messages(response) == ["Thank you: your review is in."]
    assert f"Your review is hidden from {seller.username}" in page(response)
    review = Review.objects.get(order=completed)
    assert (review.author, review.subject, review.rating, review.text) == (
        buyer,
        seller,
        5,
        "Quick.",
    )
    assert completed.events.filter(type=EventType.REVIEW_SUBMITTED, actor=buyer).exists()

    html = page(signed_in(client, seller).get(f"/orders/{completed.pk}/"))
    assert "review is in. It is hidden" in html
    assert "Quick." not in html


def test_both_reviews_show_once_both_are_in(client, completed, buyer, seller):
    order_review(order_id=completed.pk, user=buyer, rating=5, text="Quick.")
    order_review(order_id=completed.pk, user=seller, rating=4, text="Clear brief.")
    html = page(signed_in(client, buyer).get(f"/orders/{completed.pk}/"))
    assert "Quick." in html and "Clear brief." in html and "is hidden" not in html
    assert f'href="/orders/{completed.pk}/review/"' not in html


@pytest.mark.parametrize(
    ("form", "field", "error"),
    [
        ({"text": "No rating"}, "rating", "This field is required."),
        (
            {"rating": "6"},
            "rating",
            "Select a valid choice. 6 is not one of the available choices.",
        ),
    ],
)
def test_a_review_without_a_good_rating_is_refused_beside_the_field(
    client, completed, buyer, form, field, error
):
    before = db_snapshot()
    response = signed_in(client, buyer).post(f"/orders/{completed.pk}/review/", form)
    assert response.status_code == 422
    assert radio_errors(response, field) == [error]
    assert db_snapshot() == before


def test_a_too_long_review_is_refused_beside_its_field(client, completed, buyer):
    before = db_snapshot()
    form = {"rating": "3", "text": "x" * 2001}
    response = signed_in(client, buyer).post(f"/orders/{completed.pk}/review/", form)
    assert response.status_code == 422
    assert field_errors(response, "text") == [
        "Ensure this value has at most 2000 characters (it has 2001)."
    ]
    assert db_snapshot() == before


def test_a_running_order_cannot_be_reviewed(client, parties, buyer):
    order = order_in_state(State.DELIVERED, **parties)
    signed_in(client, buyer)
    assert "/review/" not in page(client.get(f"/orders/{order.pk}/"))
    before = db_snapshot()
    for response in (
        client.get(f"/orders/{order.pk}/review/", follow=True),
        client.post(f"/orders/{order.pk}/review/", {"rating": "5"}, follow=True),
    ):
        assert page_messages(response) == [
            "An order can be reviewed once it is completed or cancelled."
        ]
    assert db_snapshot() == before


def test_a_second_review_is_refused(client, completed, buyer):
    order_review(order_id=completed.pk, user=buyer, rating=5, text="")
    before = db_snapshot()
    response = signed_in(client, buyer).post(
        f"/orders/{completed.pk}/review/", {"rating": "1"}, follow=True
    )
    assert page_messages(response) == ["You have reviewed this order already."]
    assert db_snapshot() == before


def test_reviews_close_when_the_window_ends(client, clock, completed, buyer):
    clock.shift(timedelta(days=10, seconds=1))
    before = db_snapshot()
    response = signed_in(client, buyer).post(
        f"/orders/{completed.pk}/review/", {"rating": "5"}, follow=True
    )
    assert page_messages(response) == ["Reviews for this order closed 10 days after it ended."]
    assert db_snapshot() == before


def test_support_does_not_review(client, completed, support):
    before = db_snapshot()
    response = signed_in(client, support).post(
        f"/orders/{completed.pk}/review/", {"rating": "5"}, follow=True
    )
    assert page_messages(response) == ["Only the order's buyer and seller review each other."]
    assert db_snapshot() == before


# --- Reports ---


def test_the_buyer_reports_the_seller_after_a_confirmation(client, completed, buyer, seller):
    signed_in(client, buyer)
    assert f'href="/orders/{completed.pk}/report/"' in page(client.get(f"/orders/{completed.pk}/"))
    form = client.get(f"/orders/{completed.pk}/report/")
    assert f"Yes, report {seller.username}" in page(form)
    assert not Report.objects.exists()  # asking changes nothing
    response = client.post(
        f"/orders/{completed.pk}/report/",
        {"reason": "off_platform_payment", "text": "Asked me to pay by bank transfer."},
        follow=True,
    )
    assert page_messages(response) == [
        f"Your report about {seller.username} is with support. Thank you."
    ]
    report = Report.objects.get()
    assert (report.reporter, report.subject, report.order_id, report.reason) == (
        buyer,
        seller,
        completed.pk,
        ReportReason.OFF_PLATFORM_PAYMENT,
    )
    assert completed.events.filter(type=EventType.REPORT_FILED, actor=buyer).exists()
    # The report is support's business: the seller's page does not show it.
    html = page(signed_in(client, seller).get(f"/orders/{completed.pk}/"))
    assert "Reported the other party to support" not in html and "bank transfer" not in html


def test_a_report_of_something_else_needs_words_beside_the_field(client, completed, seller):
    before = db_snapshot()
    response = signed_in(client, seller).post(
        f"/orders/{completed.pk}/report/", {"reason": "other", "text": "  "}
    )
    assert response.status_code == 422
    assert field_errors(response, "text") == ["The report may not be empty."]
    assert db_snapshot() == before


def test_a_report_needs_a_reason_beside_the_field(client, completed, seller):
    before = db_snapshot()
    response = signed_in(client, seller).post(f"/orders/{completed.pk}/report/", {"text": "Hm"})
    assert response.status_code == 422
    assert radio_errors(response, "reason") == ["This field is required."]
    assert db_snapshot() == before


def test_too_many_open_reports_are_refused_with_the_services_message(
    client, completed, buyer, seller
):
    for _ in range(MAX_OPEN_REPORTS):
        report_create(reporter=buyer, subject_id=seller.pk, reason="spam", text="")
    before = db_snapshot()
    response = signed_in(client, buyer).post(
        f"/orders/{completed.pk}/report/", {"reason": "spam"}, follow=True
    )
    assert page_messages(response) == [
        f"You have {MAX_OPEN_REPORTS} reports about this user waiting for support."
    ]
    assert db_snapshot() == before


def test_only_the_parties_report_on_an_order(client, completed, support, stranger):
    before = db_snapshot()
    response = signed_in(client, support).post(
        f"/orders/{completed.pk}/report/", {"reason": "spam"}, follow=True
    )
    assert page_messages(response) == ["Only the order's buyer and seller report each other."]
    response = signed_in(client, stranger).post(
        f"/orders/{completed.pk}/report/", {"reason": "spam"}
    )
    assert response.status_code == 404
    assert db_snapshot() == before


@pytest.mark.parametrize("path", ["review", "report", "grant-revision", "evidence"])
def test_the_new_pages_ask_strangers_to_log_in(client, completed, path):
    response = client.get(f"/orders/{completed.pk}/{path}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
