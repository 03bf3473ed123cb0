"""E-mail verification before a first order or offer, and the change of address: the links
the app really sends (through SMTP to a local sink), and every bad link changing nothing."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from handover.accounts.models import User
from handover.accounts.services import (
    email_change_confirm,
    email_change_request,
    email_verification_send,
    email_verify,
    user_create,
)
from handover.lib.errors import Conflict, InvalidInput
from handover.testing.actors import PASSWORD, Api
from handover.testing.factories import offer_body
from handover.testing.smtp import SmtpSink
from handover.testing.snapshots import offer_rows
from handover.testing.steps import refused

BASE = "https://market.example"


@pytest.fixture(autouse=True)
def _base_url(settings) -> None:
    settings.HANDOVER_BASE_URL = BASE


@pytest.fixture
def sends(django_capture_on_commit_callbacks):
    """The links are mailed once the transaction commits, which a test's never does:
    ``with sends(): service(...)`` sends the service's mail as the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def newcomer(name: str = "nora", email: str = "nora@example.com") -> User:
    """A member who signed up and has not yet followed the link."""
    return user_create(username=name, email=email, password=PASSWORD)


def verified_nora() -> User:
    return user_create(username="nora", email="nora@example.com", password=PASSWORD, verified=True)


def link_in(body: str) -> str:
    """The one link of an e-mail: to the public address, never to the API."""
    links = re.findall(r"https?://\S+", body)
    assert len(links) == 1, body
    assert links[0].startswith(BASE + "/") and "/api/" not in links[0]
    return links[0]


def follow(client: Client, link: str):
    parts = urlsplit(link)
    return client.get(f"{parts.path}?{parts.query}")


def user_row(user: User) -> tuple:
    return User.objects.filter(pk=user.pk).values_list("email", "email_verified_at").get()


# --- verification ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sign_up_mails_a_link_through_smtp_and_following_it_verifies(smtp_sink: SmtpSink):
    user = newcomer()
    assert user.email_verified_at is None

    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "nora@example.com"
    assert message["Subject"] == "Confirm your e-mail address"
    response = follow(Client(), link_in(SmtpSink.text(message)))

    assert response.status_code == 302 and response["Location"] == "/login/"
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_an_unverified_member_may_neither_order_nor_publish_an_offer(db, offer):
    api = Api(newcomer())
    before = offer_rows()

    body = {"offer_id": offer.pk, "answers": ["A", "B"]}
    order = refused(api.post("/orders", body), 403, "email_unverified")
    created = refused(api.post("/offers", offer_body()), 403, "email_unverified")

    assert "nora@example.com" in order["detail"]
    assert "account page" in created["detail"]
    assert offer_rows() == before


def test_once_verified_the_same_member_orders(db, offer, mailoutbox, sends):
    with sends():
        user = newcomer()
    email_verify(token=_token_from(mailoutbox[-1].body))
    response = Api(user).post("/orders", {"offer_id": offer.pk, "answers": ["A", "B"]})
    assert response.status_code == 201, response.content


def _token_from(body: str) -> str:
    [token] = parse_qs(urlsplit(link_in(body)).query)["token"]
    return token


def test_the_link_sent_again_works_and_a_verified_account_is_sent_none(db, mailoutbox, sends):
    with sends():
        user = newcomer()
        email_verification_send(user=user)
    assert len(mailoutbox) == 2
    email_verify(token=_token_from(mailoutbox[1].body))
    user.refresh_from_db()
    with sends():
        email_verification_send(user=user)
    assert len(mailoutbox) == 2


def _tampered(token: str) -> str:
    head, _, signature = token.rpartition(":")
    return f"{head}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda good, user: _tampered(good), "bad_link"),
        (lambda good, user: good[:-3], "bad_link"),
        (lambda good, user: "not-a-token", "bad_link"),
        (lambda good, user: good + "x" * 500, "bad_link"),
        # Signed by us, for another purpose: the address-change salt.
        (
            lambda good, user: signing.dumps(
                {"u": user.pk, "e": user.email}, salt="handover.accounts.email-change"
            ),
            "bad_link",
        ),
        # Our signature, our salt, but not a user id.
        (
            lambda good, user: signing.dumps(
                {"u": "1 OR 1=1", "e": user.email}, salt="handover.accounts.email-verify"
            ),
            "bad_link",
        ),
        # For an address the account does not have.
        (
            lambda good, user: signing.dumps(
                {"u": user.pk, "e": "other@example.com"}, salt="handover.accounts.email-verify"
            ),
            "bad_link",
        ),
    ],
)
def test_a_bad_verification_link_changes_nothing(db, mailoutbox, sends, make, code):
    with sends():
        user = newcomer()
    good = _token_from(mailoutbox[0].body)
    before = user_row(user)
    with pytest.raises(InvalidInput) as refusal:
        email_verify(token=make(good, user))
    assert refusal.value.code == code
    assert user_row(user) == before


def test_an_expired_verification_link_changes_nothing(db, mailoutbox, sends, clock, settings):
    with sends():
        user = newcomer()
    token = _token_from(mailoutbox[0].body)
    clock.shift(settings.HANDOVER_EMAIL_LINK_LIFETIME + timedelta(seconds=1))
    with pytest.raises(InvalidInput) as refusal:
        email_verify(token=token)
    assert refusal.value.code == "link_expired"
    assert user_row(user)[1] is None


def test_a_bad_link_on_the_web_says_so_and_changes_nothing(db, client, mailoutbox, sends):
    with sends():
        user = newcomer()
    good = _token_from(mailoutbox[0].body)
    client.force_login(user)
    response = client.get("/account/email/verified/", {"token": _tampered(good)}, follow=True)
    assert "This link is not valid." in response.content.decode()
    assert user_row(user)[1] is None


# --- change of address -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_new_address_replaces_the_old_only_when_its_link_is_followed(smtp_sink: SmtpSink):
    user = verified_nora()
    client = Client()
    client.force_login(user)

    response = client.post("/account/email/", {"email": "nora@new.example"})
    assert response.status_code == 302
    [to_new] = smtp_sink.wait_for(1)
    assert to_new["To"] == "nora@new.example"
    user.refresh_from_db()
    assert user.email == "nora@example.com" and user.email_verified_at is not None

    link = link_in(SmtpSink.text(to_new))
    assert follow(client, link)["Location"] == "/account/"
    user.refresh_from_db()
    assert user.email == "nora@new.example" and user.email_verified_at is not None

    # The old address is told, with a way back in.
    to_old = smtp_sink.wait_for(2)[1]
    assert to_old["To"] == "nora@example.com"
    text = SmtpSink.text(to_old)
    assert "nora@new.example" in text and link_in(text) == f"{BASE}/password-reset/"

    # The link did its work once: followed again, it changes nothing.
    follow(client, link)
    user.refresh_from_db()
    assert user.email == "nora@new.example"


@pytest.mark.parametrize(
    ("address", "error", "code"),
    [
        ("BUYER@Example.com", Conflict, "email_taken"),  # another account's, in other case
        ("buyer@example.com", Conflict, "email_taken"),
        ("Nora@Example.COM", InvalidInput, "email_unchanged"),  # her own, in other case
        ("not an address", InvalidInput, "invalid"),
        ("a@" + "b" * 250 + ".com", InvalidInput, "invalid"),
        ("", InvalidInput, "invalid"),
    ],
)
def test_a_refused_new_address_sends_nothing_and_changes_nothing(
    db, buyer, mailoutbox, sends, address, error, code
):
    user = verified_nora()
    before = user_row(user)
    with sends(), pytest.raises(error) as refusal:
        email_change_request(user=user, new_email=address)
    assert refusal.value.code == code
    assert mailoutbox == [] and user_row(user) == before


def test_an_address_taken_between_the_request_and_the_link_is_refused(db, mailoutbox, sends):
    user = verified_nora()
    with sends():
        email_change_request(user=user, new_email="shared@example.com")
    token = _token_from(mailoutbox[0].body)
    user_create(username="other", email="Shared@example.com", password=PASSWORD, verified=True)
    before = user_row(user)
    with pytest.raises(Conflict):
        email_change_confirm(token=token)
    assert user_row(user) == before


def test_a_forged_or_expired_change_link_changes_nothing(db, mailoutbox, sends, clock, settings):
    user = verified_nora()
    with sends():
        email_change_request(user=user, new_email="nora@new.example")
    token = _token_from(mailoutbox[0].body)
    forged = signing.dumps(
        {"u": user.pk, "old": "nora@example.com", "new": "thief@example.com"},
        salt="handover.accounts.email-verify",  # a salt of ours, not this link's
    )
    before = user_row(user)
    for bad in (_tampered(token), forged):
        with pytest.raises(InvalidInput):
            email_change_confirm(token=bad)
    clock.shift(settings.HANDOVER_EMAIL_LINK_LIFETIME + timedelta(seconds=1))
    with pytest.raises(InvalidInput) as refusal:
        email_change_confirm(token=token)
    assert refusal.value.code == "link_expired"
    assert user_row(user) == before


def test_the_verification_link_of_a_replaced_address_does_nothing(db, mailoutbox, sends):
    with sends():
        user = newcomer()
    stale = _token_from(mailoutbox[0].body)
    with sends():
        email_change_request(user=user, new_email="nora@new.example")
    email_change_confirm(token=_token_from(mailoutbox[1].body))
    user.refresh_from_db()
    verified = user.email_verified_at
    with pytest.raises(InvalidInput):
        email_verify(token=stale)
    assert user_row(user) == ("nora@new.example", verified)


def test_a_mail_server_that_fails_does_not_fail_the_sign_up(db, settings, sends):
    settings.MAILERS = {"default": {"BACKEND": "handover.accounts.tests.test_email.BrokenMailer"}}
    with sends():
        user = newcomer()
    assert User.objects.filter(pk=user.pk, email_verified_at__isnull=True).exists()
    assert BrokenMailer.tried == 1


class BrokenMailer:
    """A mail backend whose server is down."""

    tried = 0

    def __init__(self, **options):
        pass

    def send_messages(self, messages):
        BrokenMailer.tried += 1
        raise ConnectionRefusedError("the mail server is down")
