"""The reports desk and a user's standing: the report queue and page with the reported user's
record, and support's actions (mark handled, warn, suspend, reinstate), each with a rationale
and on the record. A suspended user's session, token and offers are refused; bad input gets
its error beside the field and changes nothing; members get 403 everywhere here."""

import re
from typing import Any

import pytest
from django.test import Client

from handover.accounts.models import Role
from handover.evidence.models import Event, EventType
from handover.notifications.models import Outbox
from handover.orders.models import Order
from handover.testing.actors import PASSWORD, Api, make_user
from handover.testing.factories import make_offer, offer_body
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok, paid_order, refused, upload
from handover.trust.models import AccountWarning, Report, Suspension
from handover.trust.services import report_create
from handover.web.tests.helpers import field_errors, form_errors, page_messages

RATIONALE = "Asked three buyers to pay off the platform; the chat of order 12 shows it."
BIDI = "Fine\u202eenif"


def page(response) -> str:
    return response.content.decode()


def snapshot() -> dict[str, Any]:
    """``db_snapshot`` with the standing tables and the outbox: 'nothing changed'."""
    return {
        **db_snapshot(),
        **{
            model.__name__: sorted(model.objects.values_list(), key=str)
            for model in (Suspension, AccountWarning, Outbox)
        },
    }


def standing_events(user_id: int) -> list[Event]:
    types = [
        EventType.REPORT_HANDLED,
        EventType.USER_WARNED,
        EventType.USER_SUSPENDED,
        EventType.USER_REINSTATED,
    ]
    return [e for e in Event.objects.filter(type__in=types) if e.payload["user_id"] == user_id]


@pytest.fixture
def report(buyer, seller) -> Report:
    """The buyer reports the seller, in general."""
    return report_create(
        reporter=buyer, subject_id=seller.pk, reason="off_platform_payment", text="Asked for PayPal"
    )


@pytest.fixture
def desk(client, support):
    client.force_login(support)
    return client


def suspend(client, user, rationale: str = RATIONALE, **extra: Any):
    data = {"rationale": rationale, "confirm": "yes", **extra}
    return client.post(f"/support/users/{user.pk}/suspend/", data)


def desk_urls(report: Report) -> list[tuple[str, str]]:
    user = f"/support/users/{report.subject_id}/"
    return [
        ("get", "/support/reports/"),
        ("get", "/support/reports/?state=handled"),
        ("get", f"/support/reports/{report.pk}/"),
        ("post", f"/support/reports/{report.pk}/handled/"),
        ("get", user),
        ("post", f"{user}warn/"),
        ("post", f"{user}suspend/"),
        ("post", f"{user}reinstate/"),
    ]


# --- who may use the desk ---


@pytest.mark.parametrize("who", ["buyer", "seller", "stranger"])
def test_every_reports_page_and_action_is_403_for_a_member_and_changes_nothing(
    client, report, who, request
):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    data = {"rationale": RATIONALE, "text": "Stop.", "confirm": "yes"}
    for method, url in desk_urls(report):
        response = getattr(client, method)(url, data if method == "post" else {})
        assert response.status_code == 403, url
    assert snapshot() == before


def test_the_reports_desk_needs_a_login(client, report):
    for method, url in desk_urls(report):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


# --- the queue and the report page ---


def test_the_list_shows_waiting_reports_oldest_first_and_the_handled_ones_apart(
    desk, buyer, seller, stranger, support
):
    first = report_create(reporter=buyer, subject_id=seller.pk, reason="spam", text="")
    second = report_create(reporter=stranger, subject_id=buyer.pk, reason="abusive", text="Rude")
    done = report_create(reporter=seller, subject_id=stranger.pk, reason="fraud", text="Fake")
    ok_handled = desk.post(f"/support/reports/{done.pk}/handled/", {"rationale": "Looked: fine."})
    assert ok_handled.status_code == 302

    waiting = page(desk.get("/support/reports/"))
    handled = page(desk.get("/support/reports/?state=handled"))

    assert waiting.index(f"Report #{first.pk}:") < waiting.index(f"Report #{second.pk}:")
    assert f"Report #{done.pk}:" not in waiting
    assert f"Report #{done.pk}: {stranger.username}" in handled
    assert f"handled by {support.username}" in handled
    assert f"Report #{first.pk}:" not in handled
    assert "“Rude”" in waiting
    every = page(desk.get("/support/reports/?state=all"))
    assert (
        every.index(f"Report #{first.pk}:")
        < every.index(f"Report #{second.pk}:")
        < every.index(f"Report #{done.pk}:")
    )


def test_the_report_page_shows_the_users_record_orders_and_earlier_reports_and_warnings(
    desk, report, seller, buyer, stranger, offer, buyer_api, support
):
    order_id = paid_order(buyer_api, offer)  # the seller's, open
    bought = paid_order(Api(seller), make_offer(stranger, title="Stranger's poster"))
    earlier = report_create(reporter=stranger, subject_id=seller.pk, reason="spam", text="Ads")
    desk.post(
        f"/support/users/{seller.pk}/warn/",
        {"text": "Keep payments on Handover.", "rationale": "First report."},
    )

    html = page(desk.get(f"/support/reports/{report.pk}/"))

    assert f"Report #{report.pk}: {seller.username}" in html
    assert "Asked for PayPal" in html and "Asked to pay or be paid outside Handover" in html
    assert "Completed as a seller" in html and "Reports received</dt><dd>2" in html
    # Their orders, as the seller and as the buyer, with their states, and the open ones
    # link to the order's page, where support settles them.
    assert html.count(f'href="/orders/{order_id}/"') == 2
    assert html.count(f'href="/orders/{bought}/"') == 2
    assert "Stranger&#x27;s poster" in html and "sold to" in html and "bought from" in html
    assert "In progress" in html or "In Progress" in html
    assert f'href="/support/reports/{earlier.pk}/"' in html and "Ads" in html
    assert "“Keep payments on Handover.”" in html and "First report." in html
    assert "not seen yet" in html


def test_an_unknown_report_or_user_is_404(desk):
    assert desk.get("/support/reports/999999/").status_code == 404
    assert desk.get("/support/users/999999/").status_code == 404


# --- marking a report handled ---


def test_marking_handled_needs_a_rationale_and_is_on_the_record(desk, report, support, seller):
    before = snapshot()
    refused_page = desk.post(f"/support/reports/{report.pk}/handled/", {"rationale": "  "})
    assert refused_page.status_code == 422
    assert field_errors(refused_page, "handle_rationale") == ["This field is required."]
    assert snapshot() == before

    response = desk.post(f"/support/reports/{report.pk}/handled/", {"rationale": "Warned them."})

    assert response.status_code == 302 and response["Location"] == "/support/reports/"
    report.refresh_from_db()
    assert report.handled_by == support and report.handled_at is not None
    (event,) = standing_events(seller.pk)
    assert event.type == EventType.REPORT_HANDLED and event.order_id is None
    assert (event.actor_id, event.actor_role) == (support.pk, "support")
    assert event.payload == {
        "report_id": report.pk,
        "user_id": seller.pk,
        "rationale": "Warned them.",
    }
    again = desk.post(f"/support/reports/{report.pk}/handled/", {"rationale": "Twice."})
    assert again.status_code == 422
    assert form_errors(again) == ["This report has been handled already."]


# --- warnings ---


def test_a_warning_is_mailed_on_the_record_and_shown_once_on_the_users_next_page(
    desk, report, seller, support
):
    text = "Keep every payment on Handover: escrow protects you both."
    response = desk.post(
        f"/support/users/{seller.pk}/warn/",
        {"text": text, "rationale": RATIONALE, "report": str(report.pk)},
    )

    assert response.status_code == 302 and response["Location"] == f"/support/reports/{report.pk}/"
    warning = AccountWarning.objects.get(user=seller)
    assert (warning.text, warning.rationale, warning.report_id) == (text, RATIONALE, report.pk)
    (event,) = standing_events(seller.pk)
    assert event.type == EventType.USER_WARNED and event.actor_id == support.pk
    assert event.payload["rationale"] == RATIONALE and event.payload["text"] == text
    mail = Outbox.objects.get(event=event)
    assert mail.recipient_id == seller.pk and mail.subject == "A warning from support"
    assert text in mail.body and "/api/" not in mail.body
    assert RATIONALE not in mail.body

    client = Client()
    client.force_login(seller)
    assert page_messages(client.get("/orders/")) == [f"A warning from support: {text}"]
    assert page_messages(client.get("/orders/")) == []
    warning.refresh_from_db()
    assert warning.seen_at is not None


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"text": "Stop.", "rationale": ""}, "warn_rationale", "This field is required."),
        ({"text": "", "rationale": RATIONALE}, "warn_text", "This field is required."),
        (
            {"text": BIDI, "rationale": RATIONALE},
            "warn_text",
            "The warning may not contain U+202E RIGHT-TO-LEFT OVERRIDE",
        ),
        (
            {"text": "Stop.", "rationale": "ok\x00"},
            "warn_rationale",
            "Null characters are not allowed.",
        ),
    ],
)
def test_a_bad_warning_gets_its_error_beside_the_field_and_changes_nothing(
    desk, report, seller, data, field, error
):
    before = snapshot()
    response = desk.post(f"/support/users/{seller.pk}/warn/", {**data, "report": report.pk})
    assert response.status_code == 422
    (shown,) = field_errors(response, field)
    assert shown.startswith(error)
    assert f"Report #{report.pk}" in page(response)  # the report's page again
    assert snapshot() == before


# --- suspension ---


def test_suspending_asks_for_confirmation_then_is_on_the_record_and_mailed(
    desk, report, seller, support
):
    before = snapshot()
    url = f"/support/users/{seller.pk}/suspend/"
    asked = desk.post(url, {"rationale": RATIONALE, "report": report.pk})

    assert asked.status_code == 200 and f"Suspend {seller.username}?" in page(asked)
    assert re.search(r'name="confirm" value="yes"', page(asked))
    assert snapshot() == before

    done = suspend(desk, seller, report=report.pk)

    assert done.status_code == 302 and done["Location"] == f"/support/reports/{report.pk}/"
    suspension = Suspension.objects.get(user=seller)
    assert (suspension.rationale, suspension.started_by, suspension.report_id) == (
        RATIONALE,
        support,
        report.pk,
    )
    (event,) = standing_events(seller.pk)
    assert event.type == EventType.USER_SUSPENDED and event.order_id is None
    assert event.payload == {
        "user_id": seller.pk,
        "suspension_id": suspension.pk,
        "report_id": report.pk,
        "rationale": RATIONALE,
    }
    mail = Outbox.objects.get(event=event)
    assert mail.recipient_id == seller.pk and mail.subject == "Your account is suspended"
    html = page(desk.get(f"/support/reports/{report.pk}/"))
    assert "Suspended</span>" in html and f"Reinstate {seller.username}" in html


def test_a_suspended_users_session_ends_on_their_next_page_with_a_reason(client, seller, support):
    client.force_login(seller)
    assert client.get("/orders/").status_code == 200
    desk = Client()
    desk.force_login(support)
    suspend(desk, seller)

    response = client.get("/orders/", follow=True)

    assert response.redirect_chain[0] == ("/login/", 302)
    assert "support has suspended your account" in " ".join(page_messages(response))
    assert client.get("/orders/")["Location"].startswith("/login/")  # signed out


def test_a_suspended_users_htmx_request_sends_the_whole_page_to_log_in(client, seller, support):
    client.force_login(seller)
    desk = Client()
    desk.force_login(support)
    suspend(desk, seller)

    response = client.get("/orders/", headers={"HX-Request": "true"})

    assert response.status_code == 200 and response["HX-Redirect"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_a_warning_waits_for_a_whole_page_not_an_htmx_fragment(client, seller, support):
    desk = Client()
    desk.force_login(support)
    desk.post(f"/support/users/{seller.pk}/warn/", {"text": "Stop.", "rationale": RATIONALE})
    client.force_login(seller)

    client.get("/orders/", headers={"HX-Request": "true"})
    assert AccountWarning.objects.get(user=seller).seen_at is None
    assert page_messages(client.get("/orders/")) == ["A warning from support: Stop."]


def test_a_suspended_user_cannot_log_in_and_the_form_says_why(client, seller, support):
    desk = Client()
    desk.force_login(support)
    suspend(desk, seller)

    response = client.post("/login/", {"username": seller.username, "password": PASSWORD})

    assert response.status_code == 200
    (error,) = form_errors(response)
    assert error.startswith("This account is suspended by support")
    assert "_auth_user_id" not in client.session
    # A wrong password says nothing of the suspension.
    wrong = client.post("/login/", {"username": seller.username, "password": "nope-nope-nope"})
    assert "suspended" not in page(wrong)


def test_a_suspended_agent_is_told_why_at_the_admins_log_in_too(client, support):
    operator = make_user("operator", Role.OPERATOR)
    desk = Client()
    desk.force_login(operator)
    suspend(desk, support)

    response = client.post(
        "/admin/login/", {"username": support.username, "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 200
    assert "This account is suspended by support" in page(response)
    assert "_auth_user_id" not in client.session


def test_a_suspended_users_token_and_token_exchange_answer_403_account_suspended(
    seller, seller_api, support
):
    ok(seller_api.get("/me"))
    desk = Client()
    desk.force_login(support)
    suspend(desk, seller)

    body = refused(seller_api.get("/me"), 403, "account_suspended")
    assert "suspended" in body["detail"]
    refused(seller_api.post("/offers", {"title": "x"}), 403, "account_suspended")
    exchange = Api(None).post("/auth/token", {"username": seller.username, "password": PASSWORD})
    refused(exchange, 403, "account_suspended")
    wrong = Api(None).post("/auth/token", {"username": seller.username, "password": "wrong!!"})
    refused(wrong, 401, "bad_credentials")
    # The refusal is not kept under its Idempotency-Key: once reinstated, the same request runs.
    refused(seller_api.post("/offers", offer_body(), key="k-1"), 403, "account_suspended")
    desk.post(f"/support/users/{seller.pk}/reinstate/", {"rationale": "Cleared."})
    ok(seller_api.post("/offers", offer_body(), key="k-1"), 201)


def test_a_suspended_sellers_offer_refuses_an_order_and_changes_nothing(
    desk, seller, seller_api, offer, buyer, buyer_api
):
    open_order = paid_order(buyer_api, offer)
    suspend(desk, seller)
    before = snapshot()

    # Nor can they deliver through the API: refused before a byte of the upload is read.
    delivered = seller_api.post(
        f"/orders/{open_order}/deliveries",
        data={"text": "Here it is", "files": [upload(b"ORIGINAL" * 64)]},
    )
    refused(delivered, 403, "account_suspended")

    response = buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["ACME", "blue"]})

    body = refused(response, 409, "offer_unavailable")
    assert "suspended" not in body["detail"]  # strangers are not told why
    assert snapshot() == before
    client = Client()
    client.force_login(buyer)
    assert "This offer is not available" in page(client.get(f"/offers/{offer.pk}/"))
    assert f'href="/offers/{offer.pk}/"' not in page(client.get("/"))  # not listed
    listed = buyer_api.get("/offers").json()["items"]  # nor in the API's list
    assert offer.pk not in [item["id"] for item in listed]
    web = client.post(f"/offers/{offer.pk}/order/", {"answer_0": "ACME", "answer_1": "blue"})
    assert web.status_code == 422 and form_errors(web) == ["This offer is not taking orders now."]
    assert snapshot() == before
    # Their open order goes on; support's page for them links to it.
    assert Order.objects.get(pk=open_order).state == "in_progress"
    html = page(desk.get(f"/support/users/{seller.pk}/"))
    assert f'href="/orders/{open_order}/"' in html and "settle each from its page" in html


def test_reinstating_lets_the_user_back_in_and_is_on_the_record(
    desk, seller, seller_api, support, offer
):
    suspend(desk, seller)
    response = desk.post(
        f"/support/users/{seller.pk}/reinstate/", {"rationale": "They paid back the buyer."}
    )

    assert response.status_code == 302
    suspension = Suspension.objects.get(user=seller)
    assert (
        suspension.ended_by == support and suspension.end_rationale == "They paid back the buyer."
    )
    _, reinstated = standing_events(seller.pk)
    assert reinstated.type == EventType.USER_REINSTATED
    assert reinstated.payload["rationale"] == "They paid back the buyer."
    assert Outbox.objects.get(event=reinstated).subject == "Your account is reinstated"
    ok(seller_api.get("/me"))
    assert f'href="/offers/{offer.pk}/"' in page(Client().get("/"))  # listed again
    login = Client().post("/login/", {"username": seller.username, "password": PASSWORD})
    assert login.status_code == 302


# --- refused suspensions and reinstatements ---


def test_suspending_without_a_rationale_or_with_hostile_text_changes_nothing(desk, report, seller):
    before = snapshot()
    for rationale, error in [("", "This field is required."), (BIDI, "The rationale may not")]:
        response = suspend(desk, seller, rationale, report=report.pk)
        assert response.status_code == 422
        (shown,) = field_errors(response, "suspend_rationale")
        assert shown.startswith(error)
    assert snapshot() == before


def test_suspending_twice_or_reinstating_a_user_in_good_standing_is_refused(desk, seller):
    before = snapshot()
    again = desk.post(f"/support/users/{seller.pk}/reinstate/", {"rationale": RATIONALE})
    assert again.status_code == 422
    assert form_errors(again) == [f"{seller.username} is not suspended."]
    assert snapshot() == before

    suspend(desk, seller)
    before = snapshot()
    twice = suspend(desk, seller)
    assert twice.status_code == 422
    assert form_errors(twice) == [f"{seller.username} is suspended already."]
    assert snapshot() == before


def test_an_agent_cannot_suspend_themself_an_operator_or_another_agent(desk, support):
    operator = make_user("operator", Role.OPERATOR)
    agent = make_user("agent", Role.SUPPORT)
    before = snapshot()
    for user, error in [
        (support, "You cannot act on your own account"),
        (operator, "An operator's account is not the support desk's"),
        (agent, "Only an operator acts on a support agent's account."),
    ]:
        response = suspend(desk, user)
        assert response.status_code == 422
        (shown,) = form_errors(response)
        assert shown.startswith(error)
    assert snapshot() == before


def test_an_operator_may_suspend_a_support_agent(client, support):
    operator = make_user("operator", Role.OPERATOR)
    client.force_login(operator)
    assert suspend(client, support).status_code == 302
    assert Suspension.objects.filter(user=support, started_by=operator).exists()


def test_a_report_about_someone_else_is_not_found_and_changes_nothing(desk, report, buyer):
    before = snapshot()
    response = suspend(desk, buyer, report=report.pk)  # the report is about the seller
    assert response.status_code == 404
    assert snapshot() == before
