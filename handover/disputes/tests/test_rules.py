"""Contact details in what the parties write, and times said for people: no database."""

from datetime import UTC, datetime, timedelta

import pytest

from handover.disputes.rules import contacts_in, event_summary, quoted, span, when

SHARED = [
    ("Mail me at jane.doe@example.com", "e-mail address", "jane.doe@example.com"),
    ("jane [at] example [dot] com", "e-mail address", "jane [at] example [dot] com"),
    ("jane (at) example (dot) com", "e-mail address", "jane (at) example (dot) com"),
    ("Call +49 170 1234567", "phone number", "+49 170 1234567"),
    ("call +49 (0)30 1234567 after six", "phone number", "+49 (0)30 1234567"),
    ("my number 0170 1234567", "phone number", "0170 1234567"),
    ("030/1234567", "phone number", "030/1234567"),
    ("Tel: 0049-30-1234567", "phone number", "0049-30-1234567"),
    ("0044 20 7946 0958", "phone number", "0044 20 7946 0958"),
    ("(555) 123-4567", "phone number", "(555) 123-4567"),
    ("555-123-4567", "phone number", "555-123-4567"),
    ("01 02 03 04 05", "phone number", "01 02 03 04 05"),
    ("030.1234.5678", "phone number", "030.1234.5678"),
    ("let's talk on WhatsApp", "messenger", "WhatsApp"),
    ("What's app?", "messenger", "What's app"),
    ("ping me on Discord", "messenger", "Discord"),
    ("my skype is jane.doe", "messenger", "skype"),
    ("t.me/janedoe", "messenger", "t.me/janedoe"),
    ("https://wa.me/491701234567", "messenger", "https://wa.me/491701234567"),
    ("join discord.gg/abcDEF", "messenger", "discord.gg/abcDEF"),
    ("add me @jane_doe", "messenger", "add me @jane_doe"),
]


@pytest.mark.parametrize(("text", "kind", "found"), SHARED)
def test_contact_details_are_found(text, kind, found):
    assert [(c.kind, c.text) for c in contacts_in(text)] == [(kind, found)]


def test_a_number_inside_a_messenger_link_is_not_counted_twice():
    contacts = contacts_in("WhatsApp: https://wa.me/+491701234567 or +49 170 1234567")
    assert [c.kind for c in contacts] == ["messenger", "messenger", "phone number"]


NOT_CONTACTS = [
    "The price is €1,250.00",
    "Price: 1.250,00 €",
    "1 250 000 EUR",
    "10550 cents",
    "I paid 105.50 EUR on 03.05.2024 at 14:30",
    "due 2024-05-03 14:30",
    "due 2024-05-03T14:30:00",
    "dated 2024/05/03",
    "03/05/2024",
    "3.5.2024",
    "12.05.2024 - 15.05.2024",
    "from 08:00 to 17:00",
    "14:30-15:30",
    "00:00:12.500 --> 00:00:15.000",
    "order #12345678",
    "order 1234, total 10550",
    "invoice 2024-0042",
    "Invoice INV-00123456",
    "ISBN 978-3-16-148410-0",
    "v2.10.3",
    "version 1.2.3",
    "iOS 17.4.1",
    "192.168.0.1",
    "timestamp 1714740000",
    "sha256 0123456789abcdef0123",
    "#336699",
    "Use RGB 0, 102, 204",
    "CMYK 100 0 0 0",
    "Pantone 2945 C",
    "1920x1080",
    "4000 x 3000 px",
    "0.05 0.10 0.15 0.20",
    "the file is 12 345 678 bytes",
    "120 000 000 impressions",
    "logo@2x.png",
    "icon@3x.webp",
    "@media (max-width: 600px)",
    "@Override public void run()",
    "the signal is weak",
    "line height 1.5",
    "look at it dot by dot",
    "Here is revision 3 of 5",
]


@pytest.mark.parametrize("text", NOT_CONTACTS)
def test_prices_dates_references_and_versions_are_not_contact_details(text):
    assert contacts_in(text) == []


@pytest.mark.parametrize(
    ("delta", "said"),
    [
        (timedelta(0), "0 s"),
        (timedelta(seconds=30), "30 s"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
        (timedelta(days=3, hours=4, minutes=5), "3 d 4 h"),
        (timedelta(days=2, minutes=5), "2 d"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_spans_are_said_in_their_two_largest_units(delta, said):
    assert span(delta) == said


def test_a_moment_is_said_as_day_month_and_minute():
    assert when(datetime(2026, 5, 3, 14, 5, 59, tzinfo=UTC)) == "3 May 14:05"


def test_quoted_text_is_one_line_and_cut():
    assert quoted("a\n  b") == "“a b”"
    assert quoted("x" * 200, limit=10) == "“" + "x" * 9 + "…”"


def test_a_decision_is_summarised_with_its_outcome_money_and_rationale():
    payload = {
        "action": "decide",
        "from": "disputed",
        "to": "completed",
        "outcome": "split",
        "refunded": 5275,
        "rationale": "Half the logos were delivered.",
    }
    assert event_summary("order.transition", "support", payload, currency="EUR") == (
        "Support: decided the dispute, split, 52.75 EUR back to the buyer,"
        " “Half the logos were delivered.” (disputed → completed)"
    )
