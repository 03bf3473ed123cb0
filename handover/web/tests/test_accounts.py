"""Sign-up, log-in (throttled by django-axes), log-out and password change."""

import json

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY

from handover.accounts.models import User
from handover.testing.actors import PASSWORD
from handover.web.tests.helpers import field_errors, form_errors, page_messages

NEW_PASSWORD = "plum-orchard-lantern"


def signup(client, **overrides):
    data = {
        "username": "ana",
        "email": "ana@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **overrides,
    }
    return client.post("/signup/", data)


def test_signup_page_asks_for_name_email_and_password_twice(client, db):
    response = client.get("/signup/")
    assert response.status_code == 200
    for name in ("username", "email", "password1", "password2", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in response.content.decode()


def test_signup_makes_the_account_and_signs_in(client, db):
    response = signup(client)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="ana")
    assert user.email == "ana@example.com" and user.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert page_messages(client.get("/")) == [
        "Welcome, ana. Your account is ready: confirm your address with the link we sent to "
        "ana@example.com before your first order or offer."
    ]


def test_signup_returns_to_the_page_that_asked_but_never_to_another_site(client, db):
    assert signup(client, next="/offers/7/order/")["Location"] == "/offers/7/order/"
    client.logout()
    response = signup(client, username="ben", next="https://evil.example/")
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"password2": "something-else-42"}, "password2", "The two password fields didn"),
        (
            {"password1": "12345678", "password2": "12345678"},
            "password2",
            "This password is too common.",
        ),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"username": "a b"}, "username", "Enter a valid username."),
    ],
)
def test_signup_errors_sit_next_to_their_field_and_nothing_is_made(
    client, db, overrides, field, error
):
    response = signup(client, **overrides)
    assert response.status_code == 422
    assert any(e.startswith(error.rstrip(".")) for e in field_errors(response, field))
    assert not User.objects.filter(username__in=["ana", "a b"]).exists()
    assert SESSION_KEY not in client.session


def test_signup_with_a_taken_name_in_any_case_says_so_beside_the_name(client, buyer):
    response = signup(client, username=buyer.username.upper())
    assert response.status_code == 422
    assert field_errors(response, "username") == ["A user with that username already exists."]
    assert User.objects.filter(username__iexact=buyer.username).count() == 1


def test_a_signed_in_user_is_sent_on_from_signup_and_login(client, buyer):
    client.force_login(buyer)
    assert client.get("/signup/")["Location"] == "/"
    assert client.get("/login/")["Location"] == "/"


def test_login_signs_in_and_goes_where_it_was_asked(client, buyer):
    response = client.post(
        "/login/", {"username": buyer.username, "password": PASSWORD, "next": "/orders/"}
    )
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert client.session[SESSION_KEY] == str(buyer.pk)


def test_a_wrong_password_is_refused_with_a_message_above_the_form(client, buyer):
    response = client.post("/login/", {"username": buyer.username, "password": "wrong"})
    assert response.status_code == 200
    assert form_errors(response)[0].startswith("Please enter a correct username and password.")
    assert SESSION_KEY not in client.session


def test_repeated_failures_lock_the_name_out_even_with_the_right_password(client, buyer):
    for _ in range(5):
        client.post("/login/", {"username": buyer.username, "password": "wrong"})
    response = client.post("/login/", {"username": buyer.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert AccessAttempt.objects.get(username=buyer.username).failures_since_start >= 5


def test_the_lockout_is_for_that_name_only(client, buyer, seller):
    for _ in range(5):
        client.post("/login/", {"username": buyer.username, "password": "wrong"})
    response = client.post("/login/", {"username": seller.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(seller.pk)


def test_the_api_token_exchange_still_works_beside_the_throttle(client, buyer):
    def token(password):
        body = json.dumps({"username": buyer.username, "password": password})
        return client.post("/api/v1/auth/token", body, content_type="application/json")

    assert token("wrong").status_code == 401
    assert token(PASSWORD).status_code == 200


def test_logout_is_a_post(client, buyer):
    client.force_login(buyer)
    assert client.get("/logout/").status_code == 405
    assert client.session[SESSION_KEY] == str(buyer.pk)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert SESSION_KEY not in client.session


def test_password_change_needs_a_login(client, db):
    response = client.get("/account/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/account/password/")


def test_password_change_checks_the_old_password_beside_its_field(client, buyer):
    client.force_login(buyer)
    response = client.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert field_errors(response, "old_password")[0].startswith("Your old password was entered")
    buyer.refresh_from_db()
    assert buyer.check_password(PASSWORD)


def test_password_change_changes_it_and_keeps_the_user_signed_in(client, buyer):
    client.force_login(buyer)
    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert page_messages(response) == ["Your password is changed."]
    buyer.refresh_from_db()
    assert buyer.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(buyer.pk)
