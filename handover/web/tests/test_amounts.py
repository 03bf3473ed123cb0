"""Prices and refunds typed in major units become exact integer minor units."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.money import CURRENCIES, amount_step, format_amount
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


def test_zero_and_three_decimal_currencies_are_typed_as_people_write_them():
    assert amount_parse("1500", "JPY") == 1500
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert amount_parse("12.34", "KWD") == 12340
    assert amount_parse("12.340", "KWD") == 12340
    assert amount_text(12340, "KWD") == "12.340"
    assert format_amount(12340, "KWD") == "12.340 KWD"
    with pytest.raises(ValueError, match=r"KWD amounts move in steps of 0\.010 KWD"):
        amount_parse("12.345", "KWD")
    with pytest.raises(ValueError, match="JPY amounts have no decimals"):
        amount_parse("1500.5", "JPY")


# One currency per number of decimals.
@given(st.sampled_from(["JPY", "EUR", "KWD"]), st.integers(min_value=0, max_value=10**11))
def test_amounts_survive_the_round_trip_through_the_form(currency, units):
    amount = units * amount_step(currency)
    text = amount_text(amount, currency)
    assert amount_parse(text, currency) == amount
    assert format_amount(amount, currency) == f"{text} {currency}"
    assert text.count(".") == (CURRENCIES[currency] > 0)
