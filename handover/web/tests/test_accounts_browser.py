"""Accounts in a real browser: the password-reset story, with the e-mail the app really sent
through SMTP to a sink on 127.0.0.1, and axe-core on every account page."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from handover.accounts.models import User
from handover.accounts.services import user_create
from handover.notifications.services import outbox_send_due
from handover.orders.services import message_post
from handover.testing.actors import PASSWORD, Api, make_user
from handover.testing.factories import make_offer
from handover.testing.smtp import SmtpSink
from handover.testing.steps import paid_order
from handover.web.tests.axe import SCRIPT_PATH, axe_source
from handover.web.tests.helpers import Snapshots
from handover.web.tests.test_a11y import _answer, _audit, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "plum-orchard-lantern"


def test_a_buyer_who_forgot_the_password_resets_it_from_the_email(
    page: Page, browser_server, smtp_sink: SmtpSink, settings, artifacts: Path, page_watch
):
    url = browser_server.url
    settings.HANDOVER_BASE_URL = url  # the e-mail's link leads to this server
    buyer, seller = make_user("ana"), make_user("studio")
    order_id = paid_order(Api(buyer), make_offer(seller, title="Bakery logo"))
    snap = Snapshots(page, artifacts)

    page.goto(url + "/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill(buyer.email.upper())  # as typed on a phone, in capitals
    snap("reset-asked")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Look in your inbox")).to_be_visible()
    snap("reset-sent")

    # The e-mail as the SMTP server received it.
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == buyer.email
    assert smtp_sink.envelopes == [("handover@localhost", [buyer.email])]
    text = SmtpSink.text(message)
    [link] = re.findall(r"https?://\S+", text)
    assert link.startswith(url + "/password-reset/") and "/api/" not in link
    assert "works for 1 hour" in text

    page.goto(link)
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    snap("reset-new-password")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()
    snap("reset-done")

    page.get_by_role("main").get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill(buyer.username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()
    assert User.objects.get(pk=buyer.pk).check_password(NEW_PASSWORD)

    # The link did its work: a second visit says so.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    snap("reset-link-used")

    # The seller writes on the buyer's order; the worker sends the e-mail, whose link leads
    # to the order's page (never to the API).
    message_post(order_id=order_id, user=seller, text="The first sketches come tomorrow.")
    sent = outbox_send_due()["sent"]  # the order's e-mails to the seller too
    [notice] = [
        m
        for m in smtp_sink.wait_for(1 + sent)
        if m["To"] == buyer.email and "New message" in m["Subject"]
    ]
    notice_text = SmtpSink.text(notice)
    assert "/api/" not in notice_text
    order_link = url + reverse("web:order", args=[order_id])
    assert order_link in re.findall(r"https?://\S+", notice_text)
    page.goto(order_link)
    expect(page.get_by_role("heading", name=f"Bakery logo #{order_id}")).to_be_visible()
    expect(page.get_by_text("The first sketches come tomorrow.", exact=True)).to_be_visible()
    snap("order-from-email")
    assert page_watch.problems == []


# --- axe-core on each account page ---------------------------------------------------------------


def _fill_zone(page: Page) -> None:
    page.get_by_role("combobox", name="Time zone").select_option("Asia/Tokyo")


def _send_errors(page: Page) -> None:
    page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.get_by_label("New e-mail address").fill("not an address")
    page.get_by_role("button", name="Change the address").click()
    expect(page.locator(".errorlist").first).to_be_visible()


def _reset_link_page(url: str) -> str:
    """A valid reset link's form page, as the e-mail's link leads to it."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = make_user("ana")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("web:password_reset_confirm") + f"?u={uid}&t={token}"


def test_the_account_pages_have_no_serious_accessibility_violation(
    page: Page, browser_server, artifacts
):
    url = browser_server.url
    script = axe_source()
    page.route(url + SCRIPT_PATH, lambda route: _answer(route, script))
    unverified = user_create(username="nora", email="nora@example.com", password=PASSWORD)
    offer = make_offer(make_user("studio"))
    # (label, who, path, what they do there, the status the page answers)
    scenes: list[tuple[str, User | None, str, Callable[[Page], None] | None, int]] = [
        ("password-reset", None, "/password-reset/", None, 200),
        ("password-reset-sent", None, "/password-reset/sent/", None, 200),
        ("password-reset-form", None, _reset_link_page(url), None, 200),
        ("password-reset-bad-link", None, "/password-reset/confirm/?u=MQ&t=nope", None, 200),
        ("password-reset-complete", None, "/password-reset/done/", None, 200),
        ("account", make_user("ana"), "/account/", _fill_zone, 200),
        ("account-errors", make_user("ana"), "/account/", _send_errors, 200),
        ("account-unverified", unverified, "/account/", None, 200),
        ("verify-first", unverified, f"/offers/{offer.pk}/order/", None, 200),
    ]
    problems: list[str] = []
    for label, user, path, then, status in scenes:
        page.context.clear_cookies()
        if user is not None:
            _log_in(page, url, user)
        response = page.goto(url + path)
        assert response is not None and response.status == status, (label, response)
        if then is not None:
            then(page)
            page.wait_for_load_state("networkidle")
        problems += [f"{label}: {p}" for p in _audit(page, label, artifacts)]
    assert problems == []
