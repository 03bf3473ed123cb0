"""Prices and refunds typed in major units become exact integer minor units."""

import pytest

from handover.web.amounts import amount_parse, amount_text


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("120", "EUR", 12000),
        ("120.5", "EUR", 12050),
        ("120.50", "EUR", 12050),
        (" 0.01 ", "EUR", 1),
        ("12,34", "EUR", 1234),
        ("0", "EUR", 0),
        ("1000", "JPY", 1000),
        ("19.99", "USD", 1999),
        ("1000000000.00", "EUR", 100_000_000_000),
        # A float would make 0.29 * 100 into 28.999999999999996.
        ("0.29", "EUR", 29),
        ("4.35", "EUR", 435),
    ],
)
def test_amounts_become_exact_minor_units(text, currency, minor):
    assert amount_parse(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "error"),
    [
        ("1.234", "EUR", "EUR amounts have at most 2 decimals."),
        ("1.5", "JPY", "JPY amounts have no decimals."),
        ("-1", "EUR", "Write the amount in digits, like 120.50."),
        ("1e3", "EUR", "Write the amount in digits, like 120.50."),
        ("1,000.00", "EUR", "Write the amount in digits, like 120.50."),
        ("", "EUR", "Write the amount in digits, like 120.50."),
        ("١٢٣", "EUR", "Write the amount in digits, like 120.50."),
        ("abc", "JPY", "Write the amount in digits, like 120."),
        ("9" * 40, "EUR", "That amount is too large."),
        ("1", "XXX", "Unknown currency XXX."),
    ],
)
def test_anything_else_is_refused_with_a_reason(text, currency, error):
    with pytest.raises(ValueError, match=error.replace(".", r"\.")):
        amount_parse(text, currency)


def test_amounts_are_shown_again_as_typed():
    assert amount_text(12050, "EUR") == "120.50"
    assert amount_text(5, "EUR") == "0.05"
    assert amount_text(1000, "JPY") == "1000"
    assert amount_parse(amount_text(987654321, "EUR"), "EUR") == 987654321
