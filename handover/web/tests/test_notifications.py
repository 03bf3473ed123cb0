"""The notifications page (the rows GET /notifications lists), the unread count in the top
bar, "mark all read", and the choice of e-mails: the kinds about money and disputes stay on
whatever is posted, and a bad post changes nothing."""

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import Page, expect

from handover.notifications.models import Channel, EmailOptOut, Notification, Outbox
from handover.notifications.services import email_choices_set
from handover.testing.steps import deliver, last_transition, ok, paid_order
from handover.web.tests.axe import SCRIPT_PATH, axe_source
from handover.web.tests.helpers import nav_to, page_messages
from handover.web.tests.test_a11y import _answer, _audit, _log_in
from handover.web.views import notifications as views


def page(response) -> str:
    return response.content.decode()


def top_bar_count(html: str) -> str | None:
    count = r' <span class="count">(\d+)<span class="visually-hidden"> unread</span></span>'
    found = re.search(rf">Notifications(?:{count})?</a>", html)
    assert found is not None, "no Notifications link in the top bar"
    return found.group(1)


@pytest.fixture
def told(offer, buyer_api, seller_api) -> int:
    """An order the buyer was told of twice: delivered, then a message; its id."""
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Enjoy"}), 201)
    return order_id


def test_the_pages_need_a_login(client):
    for url in ("/notifications/", "/notifications/emails/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    response = client.post("/notifications/read/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_sees_their_notifications_newest_first_each_linking_to_its_page(
    client, settings, told, buyer, stranger, buyer_api
):
    client.force_login(buyer)
    html = page(client.get("/notifications/"))

    subjects = re.findall(r'<a class="row__title" href="([^"]+)">([^<]+)</a>', html)
    assert subjects == [
        (f"/orders/{told}/", f"New message on order #{told}"),
        (f"/orders/{told}/", f"Order #{told} was delivered"),
    ]
    assert html.count('<span class="badge">New</span>') == 2 and "2 unread" in html
    assert top_bar_count(html) == "2"
    # The API lists the same rows, with the same pages.
    listed = ok(buyer_api.get("/notifications"))["items"]
    assert [(n["url"], n["subject"]) for n in listed] == [
        (settings.HANDOVER_BASE_URL + path, subject) for path, subject in subjects
    ]
    assert all(n["read_at"] is None for n in listed)

    client.force_login(stranger)
    html = page(client.get("/notifications/"))
    assert "row__title" not in html and "Nothing yet." in html
    assert top_bar_count(html) is None


def test_notifications_come_in_pages(client, told, buyer, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 1)
    client.force_login(buyer)
    first = page(client.get("/notifications/"))
    assert f"New message on order #{told}" in first and "Page 1 of 2" in first
    second = page(client.get("/notifications/?page=2"))
    assert f"Order #{told} was delivered" in second and "New message" not in second


def test_mark_all_read_reads_mine_only(client, told, buyer, seller, buyer_api):
    sellers_unread = Notification.objects.filter(recipient=seller, read_at=None).count()
    assert sellers_unread == 1  # the payment
    client.force_login(buyer)
    response = client.post("/notifications/read/", follow=True)
    assert page_messages(response) == ["Marked 2 notifications read."]
    html = page(response)
    assert top_bar_count(html) is None and "Mark all read" not in html
    assert '<span class="badge">New</span>' not in html and "row__title" in html
    assert not Notification.objects.filter(recipient=buyer, read_at=None).exists()
    assert all(n["read_at"] for n in ok(buyer_api.get("/notifications"))["items"])
    assert Notification.objects.filter(recipient=seller, read_at=None).count() == sellers_unread
    again = client.post("/notifications/read/", follow=True)
    assert page_messages(again) == ["Nothing was unread."]


def test_mark_all_read_is_a_post_with_its_csrf_token(told, buyer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(buyer)
    assert browser.get("/notifications/read/").status_code == 405
    assert browser.post("/notifications/read/").status_code == 403
    assert Notification.objects.filter(recipient=buyer, read_at=None).count() == 2


def test_the_top_bar_count_is_one_query_however_many_are_unread(client, offer, buyer, buyer_api):
    client.force_login(buyer)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/account/password/").status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    none = queries()
    for _ in range(3):
        paid_order(buyer_api, offer)
    Notification.objects.update(recipient=buyer)  # the sellers' notices, now the buyer's
    assert top_bar_count(page(client.get("/account/password/"))) == "3"
    three = queries()
    assert len(three) == len(none)
    counts = [sql for sql in three if "notifications_notification" in sql]
    assert len(counts) == 1 and "COUNT(" in counts[0]


def choices(html: str) -> dict[str, str]:
    """Each checkbox of the e-mail choices: its value and its state."""
    found = {}
    for box in re.findall(r'<input type="checkbox" name="email"[^>]*>', html):
        value = re.search(r'value="([^"]+)"', box)
        assert value is not None
        state = "locked" if " disabled" in box else ("on" if " checked" in box else "off")
        found[value.group(1)] = state
    return found


def test_a_member_chooses_their_e_mails_and_sees_which_stay_on(client, buyer):
    client.force_login(buyer)
    html = page(client.get("/notifications/emails/"))
    assert choices(html) == {
        "orders": "on",
        "messages": "on",
        "reviews": "on",
        "money": "locked",
        "cancellations": "locked",
        "disputes": "locked",
    }
    assert html.count("Always sent.") == 3 and 'aria-describedby="why-money"' in html

    response = client.post("/notifications/emails/", {"email": ["orders", "reviews"]}, follow=True)
    assert page_messages(response) == ["Saved: you get the e-mails ticked below."]
    assert choices(page(response))["messages"] == "off"
    assert set(EmailOptOut.objects.filter(user=buyer).values_list("kind", flat=True)) == {
        "messages"
    }


def test_support_may_also_switch_off_reports(client, support):
    client.force_login(support)
    assert choices(page(client.get("/notifications/emails/")))["reports"] == "on"
    client.post("/notifications/emails/", {"email": ["orders", "messages", "reviews"]})
    assert list(EmailOptOut.objects.filter(user=support).values_list("kind", flat=True)) == [
        "reports"
    ]


def test_a_switched_off_kind_is_listed_but_not_mailed(client, offer, buyer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    client.force_login(buyer)
    client.post("/notifications/emails/", {"email": ["orders"]})

    deliver(seller_api, order_id)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Enjoy"}), 201)
    delivered = last_transition(order_id)  # the message is an event of its own
    mailed = Outbox.objects.filter(recipient=buyer, channel=Channel.EMAIL)
    assert [row.subject for row in mailed] == [f"Order #{order_id} was delivered"]
    listed = Notification.objects.filter(recipient=buyer).order_by("id")
    assert [n.subject for n in listed] == [
        f"Order #{order_id} was delivered",
        f"New message on order #{order_id}",
    ]
    assert listed[0].event == delivered and listed[0].email.subject == listed[0].subject
    api = ok(buyer_api.get("/notifications"))["items"]
    assert [n["state"] for n in api] == [None, "pending"]


def test_a_crafted_post_cannot_switch_off_money_or_disputes(client, offer, seller, buyer_api):
    client.force_login(seller)
    # Nothing ticked, and the locked kinds posted as if unticked: only the others go off.
    client.post("/notifications/emails/", {"email": []})
    assert set(EmailOptOut.objects.filter(user=seller).values_list("kind", flat=True)) == {
        "orders",
        "messages",
        "reviews",
    }
    assert email_choices_set(user=seller, wanted=[]) == {"orders", "messages", "reviews"}

    order_id = paid_order(buyer_api, offer)
    mailed = Outbox.objects.filter(recipient=seller, channel=Channel.EMAIL)
    assert [row.subject for row in mailed] == [f"Order #{order_id} is paid"]
    # Nor can anything else write one.
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailOptOut.objects.create(user=seller, kind="money")


@pytest.mark.parametrize(
    "wanted",
    [
        ["orders", "money'; DROP TABLE notifications_emailoptout; --"],
        ["orders", "<script>alert(1)</script>"],
        ["reports"],  # support's kind, posted by a member
        ["orders", ""],
    ],
)
def test_a_bad_post_gets_its_error_beside_the_choices_and_changes_nothing(client, buyer, wanted):
    email_choices_set(user=buyer, wanted=["orders", "reviews"])
    before = list(EmailOptOut.objects.order_by("id").values_list())
    client.force_login(buyer)

    response = client.post("/notifications/emails/", {"email": wanted})

    assert response.status_code == 422
    html = page(response)
    errors = re.search(r'<ul class="errorlist" id="id_email_error">(.*?)</ul>', html, re.S)
    assert errors is not None and "valid choice" in errors.group(1)
    assert 'role="alert" id="email-errors"' in html and "<script>alert" not in html
    assert list(EmailOptOut.objects.order_by("id").values_list()) == before
    assert choices(html)["messages"] == "off"  # the saved choices, shown as they are


# --- in the browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_notification_pages_pass_axe_and_fit_a_phone(
    page: Page, browser_server, artifacts, told, buyer
):
    url = browser_server.url
    script = axe_source()
    page.route(url + SCRIPT_PATH, lambda route: _answer(route, script))
    _log_in(page, url, buyer)
    page.goto(url + "/orders/")
    nav_to(page, "Notifications 2 unread")
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    assert _audit(page, "notifications", artifacts) == []

    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("Marked 2 notifications read.")).to_be_visible()
    link = page.locator('nav[aria-label="Main"] a[href="/notifications/"]')
    assert " ".join((link.text_content() or "").split()) == "Notifications"  # no count now
    assert _audit(page, "notifications-read", artifacts) == []

    page.get_by_role("link", name="Choose your e-mails").click()
    expect(page.get_by_role("checkbox", name="Payments and earnings")).to_be_disabled()
    page.get_by_role("checkbox", name="Messages").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("checkbox", name="Messages")).not_to_be_checked()
    assert EmailOptOut.objects.get(user=buyer).kind == "messages"
    assert _audit(page, "notification-emails", artifacts) == []
