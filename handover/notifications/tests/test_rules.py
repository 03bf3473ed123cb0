"""Who hears about what, what the mail says, the retry schedule, webhook addresses and the
signature scheme: pure rules, no database."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from handover.evidence.models import EventType
from handover.notifications import rules
from handover.notifications.rules import Party
from handover.orders.notices import TRANSITION_NOTICES, transition_notice
from handover.orders.rules import Action, State

B, S, SUP = Party.BUYER, Party.SELLER, Party.SUPPORT
T = EventType.ORDER_TRANSITION


def move(action: str, to: str = "", **payload):
    return {"action": action, "from": "x", "to": to, **payload}


ORDER_7 = rules.Page("web:order", (7,), "Order #7")
LINKS = {ORDER_7: "https://handover.example/orders/7/"}


def notice(payload):
    """The notice ``order_move`` passes with this move's event."""
    return transition_notice(Action(payload["action"]), State(payload["to"]))


@pytest.mark.parametrize(
    ("action", "actor", "to", "expected"),
    [
        ("pay", "provider", "in_progress", {S}),
        ("abandon", "buyer", "cancelled", set()),
        ("abandon", "timer", "cancelled", {B}),
        ("accept_order", "seller", "in_progress", {B}),
        ("decline_order", "seller", "cancelled", {B}),
        ("decline_order", "timer", "cancelled", {B, S}),
        ("deliver", "seller", "delivered", {B}),
        ("accept", "buyer", "completed", {S}),
        ("accept", "timer", "completed", {B, S}),
        ("request_revision", "buyer", "revision_requested", {S}),
        ("cancel_late", "buyer", "cancelled", {S}),
        ("request_cancellation", "buyer", "cancellation_requested", {S}),
        ("request_cancellation", "seller", "cancellation_requested", {B}),
        ("accept_cancellation", "seller", "cancelled", {B}),
        ("decline_cancellation", "buyer", "delivered", {S}),
        ("withdraw_cancellation", "seller", "in_progress", {B}),
        ("expire_cancellation", "timer", "cancelled", {B, S}),
        ("expire_cancellation", "timer", "disputed", {B, S, SUP}),
        ("open_dispute", "buyer", "disputed", {S, SUP}),
        ("open_dispute", "seller", "disputed", {B, SUP}),
        ("decide", "support", "completed", {B, S}),
        ("chargeback", "provider", "chargeback_hold", {S, SUP}),
        ("chargeback_won", "provider", "completed", {B, S, SUP}),
        ("chargeback_lost", "provider", "charged_back", {B, S, SUP}),
    ],
)
def test_each_transition_mails_the_parties_who_must_act_or_know(action, actor, to, expected):
    assert rules.recipients(notice(move(action, to)), actor) == expected


def test_every_action_of_the_lifecycle_has_a_notice():
    assert set(TRANSITION_NOTICES) == set(Action)


def test_every_event_type_either_mails_someone_or_is_named_silent():
    decided = set(rules.EVENT_NOTICES) | rules.SILENT | {T}
    assert decided == set(EventType)
    assert not set(rules.EVENT_NOTICES) & rules.SILENT


@pytest.mark.parametrize(
    ("event_type", "actor", "expected"),
    [
        (EventType.MESSAGE_POSTED, "buyer", {S}),
        (EventType.MESSAGE_POSTED, "seller", {B}),
        (EventType.MESSAGE_POSTED, "support", {B, S}),
        (EventType.DELIVERY_RELEASED_EARLY, "seller", {B}),
        (EventType.PREVIEW_FAILED, "worker", {S}),
        (EventType.REVISION_GRANTED, "seller", {B}),
        (EventType.FUNDS_CLEARED, "timer", {S}),
        (EventType.REVIEW_SUBMITTED, "buyer", {S}),
        (EventType.REPORT_FILED, "buyer", {SUP}),
        (EventType.PREVIEW_VIEWED, "buyer", set()),
        (EventType.ORIGINAL_REFUSED, "buyer", set()),
        (EventType.ORIGINAL_DOWNLOADED, "buyer", set()),
        (EventType.SUPPORT_NOTE, "support", set()),
        (EventType.OFFER_CREATED, "seller", set()),
    ],
)
def test_other_events_mail_the_other_party_or_nobody(event_type, actor, expected):
    assert rules.recipients(rules.EVENT_NOTICES.get(event_type), actor) == expected


def test_an_event_without_a_notice_mails_nobody():
    assert rules.recipients(None, "buyer") == set()
    assert rules.email_for(None, move("teleport"), order_id=1, currency="EUR", links=LINKS) is None


def test_the_decision_mail_gives_the_outcome_the_refund_and_the_rationale():
    payload = move("decide", "completed", outcome="split", refund=4000, rationale="Half done.")
    email = rules.email_for(notice(payload), payload, order_id=7, currency="EUR", links=LINKS)
    assert email is not None
    assert email.subject == "Support decided the dispute on order #7"
    assert "Outcome: split" in email.body
    assert "Refunded to the buyer: 40.00 EUR" in email.body
    assert "Rationale:\nHalf done." in email.body
    assert email.body.endswith("\n\nOrder #7: https://handover.example/orders/7/\n")


def test_the_delivery_mail_tells_the_buyer_to_review_before_accepting():
    payload = move("deliver", "delivered", message="v2")
    email = rules.email_for(notice(payload), payload, order_id=3, currency="", links={})
    assert email is not None
    assert email.subject == "Order #3 was delivered"
    assert "previews" in email.body and "Message:\nv2" in email.body


def test_a_cancellation_request_mail_shows_the_proposed_refund():
    payload = move("request_cancellation", "cancellation_requested", reason="Ill", refund=500)
    email = rules.email_for(notice(payload), payload, order_id=3, currency="JPY", links={})
    assert email is not None
    assert "Proposed refund: 500 JPY" in email.body and "Reason:\nIll" in email.body


def test_a_long_message_is_cut_in_the_mail():
    email = rules.email_for(
        rules.EVENT_NOTICES[EventType.MESSAGE_POSTED],
        {"body": "x" * 5000},
        order_id=1,
        currency="EUR",
        links={},
    )
    assert email is not None
    assert "x" * rules.MAX_QUOTE + " [...]" in email.body
    assert "x" * (rules.MAX_QUOTE + 1) not in email.body


def test_retries_back_off_then_stop_after_the_last_attempt():
    waits = [rules.retry_delay(n) for n in range(1, rules.MAX_ATTEMPTS + 1)]
    assert waits[:5] == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=6),
    ]
    assert waits[-1] is None and None not in waits[:-1]
    assert rules.MAX_ATTEMPTS == 8
    assert waits[:-1] == sorted(waits[:-1])  # type: ignore[type-var]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/handover",
        "http://example.com:8080/in?token=abc",
        "https://[2001:db8::1]/x",
    ],
)
def test_http_and_https_urls_can_receive_webhooks(url):
    assert rules.webhook_url_error(url) is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/x", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("https://user:pass@example.com/", "no credentials"),
        ("https://user@example.com/", "no credentials"),
        ("https:///path", "host"),
        ("https://example.com/a b", "without spaces"),
        ("https://example.com/\n", "without spaces"),
        ("https://example.com:99999/", "cannot be parsed"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com/" + "a" * 2000, "at most"),
        ("example.com/hook", "Only http and https"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, says):
    error = rules.webhook_url_error(url)
    assert error is not None and says in error


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("172.16.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_webhooks_reach_public_addresses_only(address, public):
    assert rules.address_allowed(address, allow_private=False) is public
    assert rules.address_allowed(address, allow_private=True)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_addresses_are_refused_even_when_private_ones_are_allowed(
    address,
):
    assert not rules.address_allowed(address, allow_private=True)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_keyed_with_the_secret():
    body = b'{"id":1}'
    header = rules.signature("whsec_abc", 1700000000, body)
    expected = hmac.new(b"whsec_abc", b'1700000000.{"id":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_the_signature_and_refuses_a_change_a_wrong_secret_or_an_old_one():
    body = b'{"id":1}'
    header = rules.signature("whsec_abc", 1700000000, body)
    assert rules.signature_valid(header, secret="whsec_abc", body=body, now=1700000100)
    assert not rules.signature_valid(header, secret="whsec_abc", body=b'{"id":2}', now=1700000100)
    assert not rules.signature_valid(header, secret="whsec_abd", body=body, now=1700000100)
    assert not rules.signature_valid(header, secret="whsec_abc", body=body, now=1700000301)
    assert not rules.signature_valid("v1=00", secret="whsec_abc", body=body, now=1700000000)
    assert not rules.signature_valid("", secret="whsec_abc", body=body, now=1700000000)


def test_a_webhook_gets_what_it_subscribed_to_and_never_internal_events():
    assert rules.webhook_wants([], EventType.PREVIEW_VIEWED)
    assert rules.webhook_wants([T], T)
    assert not rules.webhook_wants([T], EventType.MESSAGE_POSTED)
    assert not rules.webhook_wants([], EventType.SUPPORT_NOTE)
    assert not rules.webhook_wants([EventType.REPORT_FILED], EventType.REPORT_FILED)


def test_an_emails_time_is_in_the_recipients_zone_and_an_unknown_zone_is_utc():
    at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert rules.when_line(at, "Asia/Tokyo") == "When: Monday 7 December 2026, 08:30 (Asia/Tokyo)"
    assert rules.when_line(at, "America/New_York") == (
        "When: Sunday 6 December 2026, 18:30 (America/New_York)"
    )
    assert rules.when_line(at, "Mars/Olympus") == "When: Sunday 6 December 2026, 23:30 (UTC)"
