"""The support desk's pages: for support agents only, the same reads as the API's dispute
endpoints, notes, and the decision form with its confirmation, which moves the ledger
exactly as ``POST /disputes/{id}/decision`` does."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.csp import CSP

from handover.accounts.models import Role
from handover.delivery.previewing import preview_make
from handover.disputes.models import Dispute, SupportNote
from handover.evidence.models import Event, EventType
from handover.ledger.models import Entry
from handover.ops.demo import demo_png
from handover.orders.models import Order
from handover.testing.actors import Api, make_user
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balances, decide, delivered_order, ok, open_dispute
from handover.web.tests.helpers import field_errors, page_messages
from handover.web.tests.test_pages import INLINE
from handover.web.timeline import Look, item_look, timeline_days


@pytest.fixture
def disputed(offer, buyer_api, seller_api) -> tuple[int, int, int]:
    """A delivered order the buyer disputes: its id, its file's id and the dispute's id."""
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    dispute_id = open_dispute(buyer_api, order_id, "The logo is not what I asked for")
    return order_id, file_id, dispute_id


def page(response) -> str:
    return response.content.decode()


def support_urls(dispute_id: int) -> list[tuple[str, str]]:
    base = f"/support/disputes/{dispute_id}/"
    return [
        ("get", "/support/disputes/"),
        ("get", "/support/disputes/?decided=1"),
        ("get", base),
        ("post", f"{base}notes/"),
        ("post", f"{base}decision/"),
    ]


# --- who may see the desk ---


@pytest.mark.parametrize("who", ["buyer", "seller", "stranger"])
def test_every_support_page_is_403_for_anyone_but_support_and_changes_nothing(
    client, disputed, who, request
):
    client.force_login(request.getfixturevalue(who))
    before = db_snapshot()
    data = {"text": "x", "outcome": "release", "confirm": "yes"}
    for method, url in support_urls(disputed[2]):
        response = getattr(client, method)(url, data if method == "post" else {})
        assert response.status_code == 403, url
    assert db_snapshot() == before


def test_support_pages_need_a_login(client, disputed):
    for method, url in support_urls(disputed[2]):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_unknown_dispute_is_404(client, support):
    client.force_login(support)
    assert client.get("/support/disputes/999999/").status_code == 404


# --- the queue ---


def test_the_queue_lists_open_disputes_oldest_first_as_the_api_does(
    client, seller, buyer_api, seller_api, support, support_api, time_machine
):
    time_machine.move_to(datetime(2026, 5, 4, 9, 0, tzinfo=UTC), tick=False)
    first = make_offer(seller, title="First logo")
    second = make_offer(seller, title="Second logo")
    order_a, _ = delivered_order(buyer_api, seller_api, first)
    ok(buyer_api.post(f"/orders/{order_a}/messages", {"text": "Mail me at ana@example.com"}), 201)
    dispute_a = open_dispute(buyer_api, order_a)
    time_machine.shift(timedelta(hours=2))
    order_b, _ = delivered_order(buyer_api, seller_api, second)
    dispute_b = open_dispute(seller_api, order_b, "The buyer went silent")
    time_machine.shift(timedelta(hours=23))
    client.force_login(support)

    html = page(client.get("/support/disputes/"))

    api = ok(support_api.get("/disputes"))
    assert [d["id"] for d in api["items"]] == [dispute_a, dispute_b]
    assert [d["overdue"] for d in api["items"]] == [True, False]
    assert html.index(f"Dispute #{dispute_a}: First logo") < html.index(
        f"Dispute #{dispute_b}: Second logo"
    )
    assert "Overdue by 1 hour" in html and "Due in 1 hour" in html
    assert "1 day 1 hour" in html and "23 hours" in html  # the ages
    assert "Contact details shared" in html  # the API's contact_shared flag
    assert [f["code"] for f in api["items"][0]["flags"]] == ["contact_shared"]
    assert "within 1 day" in html  # the response-time target


def test_decided_disputes_leave_the_queue_for_the_decided_tab(
    client, disputed, support, support_api
):
    dispute_id = disputed[2]
    ok(decide(support_api, dispute_id, "release"))
    client.force_login(support)
    assert f"Dispute #{dispute_id}" not in page(client.get("/support/disputes/"))
    decided = page(client.get("/support/disputes/?decided=1"))
    assert f"Dispute #{dispute_id}" in decided and "Release" in decided


# --- the dispute page ---


def png_delivery(seller_api, buyer_api, offer) -> tuple[int, int]:
    """A paid order with a PNG delivered (its preview made), ticking the first requirement."""
    order = ok(buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["ACME", "blue"]}), 201)
    ok(buyer_api.act(order["id"], "pay"))
    delivery = ok(
        seller_api.post(
            f"/orders/{order['id']}/deliveries",
            data={
                "text": "Three concepts",
                "files": [SimpleUploadedFile("concepts.png", demo_png(1))],
                "checklist": '[{"requirement": 0, "note": "the name is in the mark"}]',
            },
        ),
        201,
    )
    file_id = delivery["files"][0]["id"]
    preview_make(file_id=file_id)
    return order["id"], file_id


def test_the_dispute_page_shows_the_evidence_side_by_side(
    client, offer, buyer_api, seller_api, support
):
    order_id, file_id = png_delivery(seller_api, buyer_api, offer)
    buyer_api.get(f"/files/{file_id}/original")  # refused before completion, and recorded
    seller_api.get(f"/files/{file_id}/original")
    dispute_id = open_dispute(buyer_api, order_id)
    client.force_login(support)

    html = page(client.get(f"/support/disputes/{dispute_id}/"))

    for text in (
        "Not what I asked for",  # the reason
        "Company name?",  # requirement 1, ticked, beside its file
        "the name is in the mark",
        "Colours?",  # requirement 2, not ticked
        "Not ticked in any delivery",
        "concepts.png",
        f'href="/files/{file_id}/preview/?part=0"',
        f'href="/files/{file_id}/original/"',
        "Refused:",  # the download log
        "Original of concepts.png",
        "Opened a dispute",  # the timeline, in plain words
        'class="timeline__item timeline__item--delivery"',
        'class="timeline__item timeline__item--request"',
        'class="timeline__item timeline__item--payment"',
        "Review the decision",
    ):
        assert text in html, text
    assert html.count("compare__row--missing") == 1


def test_viewing_the_page_leaves_no_trace_on_the_record(client, disputed, support):
    client.force_login(support)
    before = db_snapshot()
    assert client.get(f"/support/disputes/{disputed[2]}/").status_code == 200
    assert db_snapshot() == before


# --- notes ---


def test_support_adds_an_internal_note_through_the_notes_service(client, disputed, support):
    order_id, _, dispute_id = disputed
    client.force_login(support)
    response = client.post(
        f"/support/disputes/{dispute_id}/notes/", {"text": "Asked the seller for sources."}
    )
    assert response.status_code == 302 and response["Location"].endswith("#notes")
    note = SupportNote.objects.get(dispute_id=dispute_id)
    assert note.text == "Asked the seller for sources." and note.author == support
    event = Event.objects.filter(order_id=order_id).last()
    assert event is not None and event.type == EventType.SUPPORT_NOTE
    html = page(client.get(response["Location"]))
    assert "Note added." in html and "Asked the seller for sources." in html


def test_an_empty_note_is_refused_beside_the_field(client, disputed, support):
    client.force_login(support)
    before = db_snapshot()
    response = client.post(f"/support/disputes/{disputed[2]}/notes/", {"text": "   "})
    assert response.status_code == 422
    assert field_errors(response, "note_text") == ["This field is required."]
    assert db_snapshot() == before


# --- the decision ---


def decision_url(dispute_id: int) -> str:
    return f"/support/disputes/{dispute_id}/decision/"


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (
            {"outcome": "split", "refund": "52.755", "text": "Half done."},
            "refund",
            "EUR amounts have at most 2 decimals.",
        ),
        (
            {"outcome": "split", "refund": "fifty", "text": "Half done."},
            "refund",
            "Write the amount in digits, like 120.50.",
        ),
        (
            {"outcome": "split", "refund": "", "text": "Half done."},
            "refund",
            "A split needs the amount the buyer gets back.",
        ),
        (  # the service's own refusal: a split is strictly between nothing and everything
            {"outcome": "split", "refund": "105.50", "text": "Half done."},
            "refund",
            "A split needs a refund above 0 and below the total of 10550.",
        ),
        (
            {"outcome": "release", "refund": "10", "text": "Delivered as asked."},
            "refund",
            "Only a split takes an amount: leave it empty.",
        ),
        ({"outcome": "release", "refund": "", "text": ""}, "text", None),
        ({"outcome": "release", "refund": "", "text": "  \n "}, "text", None),
    ],
)
@pytest.mark.parametrize("confirm", ["", "yes"])
def test_a_bad_decision_shows_the_error_beside_its_field_and_changes_nothing(
    client, disputed, support, data, field, error, confirm
):
    client.force_login(support)
    before = db_snapshot()
    response = client.post(decision_url(disputed[2]), {**data, "confirm": confirm})
    assert response.status_code == 422
    assert field_errors(response, field) == [error or "This field is required."]
    assert db_snapshot() == before


def test_the_confirmation_shows_where_the_money_goes_and_changes_nothing(client, disputed, support):
    client.force_login(support)
    before = db_snapshot()
    response = client.post(
        decision_url(disputed[2]),
        {"outcome": "split", "refund": "52.75", "text": "Half the concepts were usable."},
    )
    html = page(response)
    assert response.status_code == 200
    assert "Split the money?" in html
    for text in ("52.75 EUR", "40.00 EUR", "12.75 EUR", "105.50 EUR", "completed"):
        assert text in html, text
    assert 'name="refund" value="52.75"' in html and 'name="confirm" value="yes"' in html
    assert db_snapshot() == before


def test_change_the_decision_brings_the_form_back_filled_in(client, disputed, support):
    client.force_login(support)
    data = {"outcome": "split", "refund": "52.75", "text": "Half.", "change": "yes"}
    response = client.post(decision_url(disputed[2]), data)
    html = page(response)
    assert response.status_code == 200
    assert 'value="52.75"' in html and "Half.</textarea>" in html
    assert 'value="split" required id="id_outcome_2" checked' in html


def ledger_of(order_id: int) -> list[tuple[str, str, int]]:
    """An order's postings as (transaction kind, account kind, amount), in order."""
    return list(
        Entry.objects.filter(transaction__order_id=order_id)
        .order_by("id")
        .values_list("transaction__kind", "account__kind", "amount")
    )


@pytest.mark.parametrize(
    ("outcome", "typed", "refund", "state", "expected"),
    [
        ("release", "", None, "completed", {"world": -10550, "pending": 8000, "fees": 2550}),
        ("split", "52.75", 5275, "completed", {"world": -5275, "pending": 4000, "fees": 1275}),
        ("refund", "", None, "cancelled", {"world": 0, "pending": 0, "fees": 0}),
    ],
)
def test_a_confirmed_decision_moves_the_ledger_exactly_as_the_api_does(
    client, seller, buyer_api, seller_api, support, outcome, typed, refund, state, expected
):
    offer = make_offer(seller)
    web_order, _ = delivered_order(buyer_api, seller_api, offer)
    web_dispute = open_dispute(buyer_api, web_order)
    client.force_login(support)
    data = {"outcome": outcome, "refund": typed, "text": "Read the evidence."}

    response = client.post(decision_url(web_dispute), {**data, "confirm": "yes"})

    assert response.status_code == 302
    assert "Dispute decided." in " ".join(page_messages(client.get(response["Location"])))
    dispute = Dispute.objects.get(pk=web_dispute)
    assert (dispute.outcome, dispute.decided_by, dispute.rationale) == (
        outcome,
        support,
        "Read the evidence.",
    )
    assert Order.objects.get(pk=web_order).state == state
    got = balances(web_order, seller)
    assert {key: got[key] for key in expected} == expected
    assert got["escrow"] == 0
    web_ledger = ledger_of(web_order)
    web_event = Event.objects.filter(order_id=web_order, type=EventType.ORDER_TRANSITION).last()

    # The same decision through the API, on a twin order: the same postings, the same event.
    api_order, _ = delivered_order(buyer_api, seller_api, offer)
    api_dispute = open_dispute(buyer_api, api_order)
    ok(decide(Api(support), api_dispute, outcome, refund))
    assert ledger_of(api_order) == web_ledger
    api_event = Event.objects.filter(order_id=api_order, type=EventType.ORDER_TRANSITION).last()
    assert web_event is not None and api_event is not None
    ignore = {"dispute_id", "refund_reference"}
    assert {k: v for k, v in web_event.payload.items() if k not in ignore} == {
        k: v for k, v in api_event.payload.items() if k not in ignore
    }


def test_a_decided_dispute_cannot_be_decided_again(client, disputed, support, support_api):
    dispute_id = disputed[2]
    ok(decide(support_api, dispute_id, "release"))
    client.force_login(support)
    before = db_snapshot()
    data = {"outcome": "refund", "refund": "", "text": "Changed my mind", "confirm": "yes"}
    response = client.post(decision_url(dispute_id), data, follow=True)
    assert "This dispute is decided already." in page_messages(response)
    assert db_snapshot() == before


def test_a_decision_after_completion_shows_what_is_taken_back(
    client, offer, buyer_api, seller_api, support
):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    dispute_id = open_dispute(buyer_api, order_id, "The files are corrupt")
    client.force_login(support)
    response = client.post(
        decision_url(dispute_id), {"outcome": "refund", "refund": "", "text": "Corrupt."}
    )
    html = page(response)
    assert "Taken back from the seller" in html and "80.00 EUR" in html and "25.50 EUR" in html
    assert "cancelled" in html


# --- the timeline's pure parts ---


class Item:
    def __init__(self, at, kind, data=None, actor="ana", role="buyer", summary="s"):
        self.at, self.kind, self.data = at, kind, data or {}
        self.actor, self.role, self.summary = actor, role, summary


def move(action: str) -> dict:
    return {"type": EventType.ORDER_TRANSITION, "payload": {"action": action}}


def test_each_kind_of_item_has_its_own_look():
    assert item_look("delivery", {}) == Look.DELIVERY
    assert item_look("download", {}) == Look.DOWNLOAD
    assert item_look("preview", {}) == Look.VIEW
    assert item_look("message", {}) == Look.MESSAGE
    assert item_look("note", {}) == Look.NOTE
    assert item_look("event", move("pay")) == Look.PAYMENT
    assert item_look("event", move("request_cancellation")) == Look.REQUEST
    assert item_look("event", move("open_dispute")) == Look.REQUEST
    assert item_look("event", move("decide")) == Look.DECISION
    assert item_look("event", {"type": EventType.ORIGINAL_REFUSED}) == Look.DOWNLOAD
    assert item_look("event", {"type": EventType.ORDER_PLACED}) == Look.OTHER


def test_the_timeline_groups_items_by_day_in_time_order():
    day1 = datetime(2026, 5, 4, 23, 30, tzinfo=UTC)
    items = [
        Item(day1 + timedelta(hours=1), "message"),
        Item(day1, "delivery", actor=None, role="seller"),
        Item(day1 + timedelta(hours=2), "event", move("decide"), actor=None, role="timer"),
    ]
    days = timeline_days(items, UTC, currency="EUR")
    assert [d.day.isoformat() for d in days] == ["2026-05-04", "2026-05-05"]
    assert [e.word for e in days[0].entries] == ["Delivery"]
    assert [e.actor for e in days[0].entries] == ["seller"]  # no user: who acted
    assert [(e.word, e.actor) for e in days[1].entries] == [
        ("Message", "ana"),
        ("Decision", "Handover"),  # the timer: Handover acted, nobody in particular
    ]
    assert timeline_days([], timezone.get_current_timezone(), currency="EUR") == []


def test_an_agent_who_is_a_party_sees_no_notes_and_cannot_decide(
    client, offer, seller_api, support, support_api
):
    order_id, _ = delivered_order(support_api, seller_api, offer)  # the agent bought
    dispute_id = open_dispute(support_api, order_id)
    other = Api(make_user("support", Role.SUPPORT))
    ok(other.post(f"/disputes/{dispute_id}/notes", {"text": "Agent-buyer: careful"}), 201)
    client.force_login(support)
    html = page(client.get(f"/support/disputes/{dispute_id}/"))
    assert "Agent-buyer: careful" not in html and "another agent decides it" in html
    before = db_snapshot()
    data = {"outcome": "refund", "refund": "", "text": "Mine.", "confirm": "yes"}
    response = client.post(decision_url(dispute_id), data, follow=True)
    assert "A dispute on your own order is decided by another agent." in page_messages(response)
    assert db_snapshot() == before


def test_every_page_here_has_the_policy_and_nothing_inline(client, disputed, support, seller):
    policy = CSP.HEADER_ENFORCE.value
    dispute_id = disputed[2]
    split = {"outcome": "split", "refund": "52.75", "text": "Half."}
    requests = [
        (support, "get", "/support/disputes/", {}),
        (support, "get", f"/support/disputes/{dispute_id}/", {}),
        (support, "post", decision_url(dispute_id), split),
        (support, "post", decision_url(dispute_id), {**split, "refund": "x"}),
        (seller, "get", "/balance/", {}),
        (seller, "get", "/balance/payout/", {}),
        (seller, "post", "/balance/payout/", {"amount": "1", "currency": "EUR"}),
    ]
    for user, method, path, data in requests:
        client.force_login(user)
        response = getattr(client, method)(path, data)
        assert response.status_code in (200, 422), path
        assert response[policy].startswith("default-src 'self'; script-src 'self'"), path
        html = page(response)
        for pattern, what in INLINE:
            assert not re.search(pattern, html), f"{path} has {what}"
        assert "/static/web/support.css" in html, path
