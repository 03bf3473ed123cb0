"""The account page (address, time zone, "download my data"), password reset by e-mail, and
the page an unverified member gets instead of a first order or offer."""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY

from handover.accounts.models import User
from handover.accounts.services import user_create
from handover.orders.feedback import order_review
from handover.orders.rules import State
from handover.testing.actors import PASSWORD, make_user
from handover.testing.factories import order_in_state
from handover.testing.snapshots import offer_rows
from handover.trust.services import report_create
from handover.web.tests.helpers import field_errors, page_messages

NEW_PASSWORD = "plum-orchard-lantern"


@pytest.fixture
def sends(django_capture_on_commit_callbacks):
    """Mail goes once the transaction commits, which a test's never does: ``with sends():``."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def signed_in(client, user: User):
    client.force_login(user)
    return client


def zone_of(user: User) -> str:
    return User.objects.values_list("time_zone", flat=True).get(pk=user.pk)


# --- the account page --------------------------------------------------------------------------


def test_the_account_page_brings_address_zone_password_and_data_together(client, buyer):
    html = signed_in(client, buyer).get("/account/").content.decode()
    assert buyer.email in html and "confirmed" in html
    for target in ("/account/email/", "/account/time-zone/", "/account/password/"):
        assert f'action="{target}"' in html or f'href="{target}"' in html
    assert 'href="/account/data/"' in html
    assert 'href="/account/"' in html  # the top bar's "Account"


def test_an_unverified_member_is_offered_the_link_again(client, db, mailoutbox, sends):
    with sends():
        user = user_create(username="nora", email="nora@example.com", password=PASSWORD)
    html = signed_in(client, user).get("/account/").content.decode()
    assert "not confirmed" in html and 'action="/account/email/verify/"' in html
    with sends():
        response = client.post("/account/email/verify/")
    assert response["Location"] == "/account/"
    assert [m.to for m in mailoutbox] == [["nora@example.com"]] * 2


def test_the_account_page_needs_a_login(client, db):
    for path in ("/account/", "/account/data/"):
        assert client.get(path)["Location"].startswith("/login/?next=")


# --- time zone ---------------------------------------------------------------------------------


def test_a_member_sets_a_zone_and_pages_show_times_in_it(client, buyer, seller, support):
    order = order_in_state(State.PENDING_PAYMENT, buyer=buyer, seller=seller, support=support)
    order.created_at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    order.save(update_fields=["created_at"])
    signed_in(client, buyer)
    assert "6 Dec 2026, 23:30" in client.get(f"/orders/{order.pk}/").content.decode()

    response = client.post("/account/time-zone/", {"time_zone": "Asia/Tokyo"})

    assert response["Location"] == "/account/" and zone_of(buyer) == "Asia/Tokyo"
    assert "7 Dec 2026, 08:30" in client.get(f"/orders/{order.pk}/").content.decode()


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "europe/paris", "../../etc/passwd", "Europe/Paris\x00", "x" * 500]
)
def test_an_unknown_zone_is_refused_beside_the_field_and_changes_nothing(client, buyer, zone):
    response = signed_in(client, buyer).post("/account/time-zone/", {"time_zone": zone})
    assert response.status_code == 422
    assert field_errors(response, "time_zone")
    assert zone_of(buyer) == "UTC"


def test_sign_up_takes_the_browsers_zone_and_a_bogus_one_falls_back_to_utc(client, db):
    form = {"email": "x@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    client.post("/signup/", {**form, "username": "ana", "time_zone": "America/Sao_Paulo"})
    client.post("/logout/")
    client.post("/signup/", {**form, "username": "ben", "time_zone": "Not/AZone"})
    zones = dict(User.objects.values_list("username", "time_zone"))
    assert zones == {"ana": "America/Sao_Paulo", "ben": "UTC"}


def test_sign_up_and_account_pages_load_the_zone_script(client, buyer):
    assert "web/time-zone.js" in client.get("/signup/").content.decode()
    html = client.get("/signup/").content.decode()
    assert re.search(
        r'<input type="hidden" name="time_zone" value="" data-browser-time-zone>', html
    )
    assert "web/time-zone.js" in signed_in(client, buyer).get("/account/").content.decode()


# --- change of address on the page -------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("SELLER@example.COM", "Another account uses this address."),
        ("Buyer@Example.com", "That is already your address."),
        ("not-an-address", "Enter a valid email address."),
    ],
)
def test_a_refused_address_is_said_beside_the_field_and_nothing_is_sent(
    client, buyer, seller, mailoutbox, address, error
):
    response = signed_in(client, buyer).post("/account/email/", {"email": address})
    assert response.status_code == 422
    assert field_errors(response, "email") == [error]
    assert mailoutbox == []
    assert User.objects.get(pk=buyer.pk).email == "buyer@example.com"


# --- e-mail verification before a first order or offer ----------------------------------------


def test_an_unverified_member_gets_the_reason_and_the_resend_button_not_the_form(client, db, offer):
    user = user_create(username="nora", email="nora@example.com", password=PASSWORD)
    signed_in(client, user)
    before = offer_rows()
    for path, post in (
        (f"/offers/{offer.pk}/order/", {"answer_0": "A", "answer_1": "B"}),
        ("/offers/new/", {"title": "Logo"}),
    ):
        for response in (client.get(path), client.post(path, post)):
            html = response.content.decode()
            assert response.status_code == 200
            assert "Confirm your e-mail address first" in html and "nora@example.com" in html
            assert 'action="/account/email/verify/"' in html
            assert f'name="next" value="{path}"' in html
    assert offer_rows() == before


def test_the_resend_button_returns_to_the_page_that_asked(client, db, offer, mailoutbox, sends):
    user = user_create(username="nora", email="nora@example.com", password=PASSWORD)
    path = f"/offers/{offer.pk}/order/"
    with sends():
        response = signed_in(client, user).post("/account/email/verify/", {"next": path})
    assert response["Location"] == path
    assert page_messages(client.get("/")) == ["We sent a new link to nora@example.com."]
    assert len(mailoutbox) == 1


# --- password reset ----------------------------------------------------------------------------


def _reset_link(body: str, base: str) -> str:
    links = re.findall(r"https?://\S+", body)
    assert len(links) == 1 and links[0].startswith(base + "/password-reset/"), body
    assert "/api/" not in links[0]
    parts = urlsplit(links[0])
    return f"{parts.path}?{parts.query}"


def test_the_login_page_links_to_password_reset(client, db):
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()
    assert "Forgot your password?" in client.get("/login/").content.decode()


@pytest.mark.parametrize("address", ["buyer@example.com", "nobody@example.com"])
def test_the_answer_is_the_same_whether_or_not_an_account_uses_the_address(
    client, buyer, mailoutbox, address
):
    response = client.post("/password-reset/", {"email": address}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [("/password-reset/sent/", 302)]
    assert "If an account uses that address, we have sent it a link" in html
    assert "works for 1 hour" in html
    assert len(mailoutbox) == (1 if address == buyer.email else 0)


def test_reset_mails_to_one_address_are_bounded_and_the_answer_stays_the_same(
    client, buyer, mailoutbox
):
    for _ in range(5):
        response = client.post("/password-reset/", {"email": buyer.email.upper()})
        assert response["Location"] == "/password-reset/sent/"
    assert len(mailoutbox) == 3  # lockout.RESET_MAILS_PER_ADDRESS in the hour


def test_a_reset_link_sets_a_new_password_once(client, buyer, mailoutbox, settings):
    settings.HANDOVER_BASE_URL = "https://market.example"
    client.post("/password-reset/", {"email": "BUYER@example.com"})  # any case
    [message] = mailoutbox
    assert message.to == ["buyer@example.com"]
    assert message.subject == "Set a new password for market.example"
    path = _reset_link(message.body, "https://market.example")

    form = client.get(path, follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    assert User.objects.get(pk=buyer.pk).check_password(NEW_PASSWORD)
    assert SESSION_KEY not in client.session  # logs in with it, on the login page

    again = client.get(path, follow=True).content.decode()
    assert "This link does not work" in again


def test_an_expired_or_tampered_reset_link_changes_nothing(client, buyer, mailoutbox, clock):
    client.post("/password-reset/", {"email": buyer.email})
    path = _reset_link(mailoutbox[0].body, "http://127.0.0.1:8000")
    query = parse_qs(urlsplit(path).query)
    [uid], [token] = query["u"], query["t"]
    tampered = {"u": uid, "t": token[:-1] + ("a" if token[-1] != "a" else "b")}
    other_user = {"u": "MQ" if uid != "MQ" else "Mg", "t": token}
    for bad in (tampered, other_user, {"u": "x", "t": "y"}, {"t": "set-password"}, {}):
        answer = client.get("/password-reset/confirm/", bad, follow=True).content.decode()
        assert "This link does not work" in answer, bad
    clock.shift(timedelta(hours=1, seconds=1))
    assert "This link does not work" in client.get(path, follow=True).content.decode()
    assert User.objects.get(pk=buyer.pk).check_password(PASSWORD)


def test_a_weak_new_password_is_refused_beside_the_field(client, buyer, mailoutbox):
    client.post("/password-reset/", {"email": buyer.email})
    form = client.get(_reset_link(mailoutbox[0].body, "http://127.0.0.1:8000"), follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"}
    )
    assert field_errors(response, "new_password2")
    assert User.objects.get(pk=buyer.pk).check_password(PASSWORD)


# --- download my data --------------------------------------------------------------------------


def test_download_my_data_holds_the_users_data_and_no_one_elses(client, buyer, seller, support):
    completed = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    # A sale of the buyer's own, to someone else, and an order between two others.
    other = make_user("other")
    sale = order_in_state(State.IN_PROGRESS, buyer=other, seller=buyer, support=support)
    theirs = order_in_state(State.IN_PROGRESS, buyer=other, seller=seller, support=support)
    order_review(order_id=completed.pk, user=buyer, rating=5, text="Lovely work.")
    order_review(order_id=completed.pk, user=seller, rating=4, text="Clear brief.")
    report_create(reporter=buyer, subject_id=seller.pk, reason="spam", text="Buyer's report.")
    report_create(reporter=seller, subject_id=buyer.pk, reason="spam", text="About the buyer.")

    response = signed_in(client, buyer).get("/account/data/")

    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="handover-account-{buyer.pk}.json"'
    )
    data = json.loads(response.content)
    assert data["account"]["username"] == buyer.username
    assert data["account"]["email"] == buyer.email
    assert {(o["id"], o["role"]) for o in data["orders"]} == {
        (completed.pk, "buyer"),
        (sale.pk, "seller"),
    }
    assert [o["id"] for o in data["offers"]] == [sale.offer_id]
    assert {m["order_id"] for m in data["messages"]} <= {completed.pk, sale.pk}
    assert [r["text"] for r in data["reviews_written"]] == ["Lovely work."]
    assert [r["text"] for r in data["reviews_received"]] == ["Clear brief."]
    assert [r["text"] for r in data["reports_made"]] == ["Buyer's report."]
    assert data["emails"] and all(e["subject"] for e in data["emails"])
    text = response.content.decode()
    assert theirs.pk not in {o["id"] for o in data["orders"]}
    assert "About the buyer." not in text
    assert other.email not in text and seller.email not in text and support.username not in text
