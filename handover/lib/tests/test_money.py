from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.errors import Unprocessable
from handover.lib.money import (
    CURRENCIES,
    amount_step,
    amount_step_check,
    amount_step_error,
    format_amount,
    percent_of,
    round_half_up,
    round_to_step,
)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(0), 0),
        (Fraction(1, 3), 0),
        (Fraction(1, 2), 1),
        (Fraction(2, 3), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),  # halves go up, not to the even neighbour
        (Fraction(495, 1000), 0),
        (Fraction(7), 7),
    ],
    ids=str,
)
def test_round_half_up(value, rounded):
    assert round_half_up(value) == rounded


def test_round_half_up_refuses_negative_amounts():
    with pytest.raises(ValueError, match="never negative"):
        round_half_up(Fraction(-1, 2))


@given(st.fractions(min_value=0, max_value=10**12))
def test_round_half_up_goes_up_from_half_the_denominator(value):
    whole, rest = divmod(value.numerator, value.denominator)
    assert round_half_up(value) == whole + (2 * rest >= value.denominator)


@given(st.integers(min_value=0, max_value=10**12), st.decimals(0, 100, places=4))
def test_percent_of_agrees_with_decimal_half_up(amount, percent):
    exact = Decimal(amount) * percent / 100  # exact: at most 13 + 7 digits
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert percent_of(amount, percent) == expected


@pytest.mark.parametrize(
    ("amount", "percent", "fee"),
    [
        (10000, Decimal("5.5"), 550),
        (10000, Decimal("20"), 2000),
        (10, Decimal("5.5"), 1),
        (9, Decimal("5.5"), 0),
        (1, Decimal("50"), 1),
        (3, Decimal("12.5"), 0),
        (0, Decimal("20"), 0),
        (10000, Decimal("0"), 0),
        (1000, Fraction(1, 3), 3),
        (10**12, Decimal("99.9999"), 999_999_000_000),
    ],
)
def test_percent_of(amount, percent, fee):
    assert percent_of(amount, percent) == fee


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (10550, "EUR", "105.50 EUR"),
        (5, "EUR", "0.05 EUR"),
        (0, "USD", "0.00 USD"),
        (-105, "GBP", "-1.05 GBP"),
        (500, "JPY", "500 JPY"),
        (-500, "KRW", "-500 KRW"),
        (123456789, "CHF", "1234567.89 CHF"),
        (150, "XXX", "1.50 XXX"),  # not in the list: two digits
        (1500, "JPY", "1500 JPY"),
        (12340, "KWD", "12.340 KWD"),
        (5, "BHD", "0.005 BHD"),
        (-1000, "TND", "-1.000 TND"),
    ],
)
def test_format_amount(amount, currency, text):
    assert format_amount(amount, currency) == text


def test_currencies_are_iso_codes_with_0_2_or_3_digits():
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)
    assert set(CURRENCIES.values()) <= {0, 2, 3}
    # Stripe's three-decimal currencies, each moved in whole tens of its minor units.
    three = {code for code, digits in CURRENCIES.items() if digits == 3}
    assert three == {"BHD", "JOD", "KWD", "OMR", "TND"}
    assert {amount_step(code) for code in three} == {10}
    assert {amount_step(code) for code in set(CURRENCIES) - three} == {1}


@given(st.fractions(min_value=0, max_value=10**12), st.sampled_from([1, 10]))
def test_round_to_step_is_the_nearest_multiple_halves_up(value, step):
    rounded = round_to_step(value, step)
    assert rounded % step == 0
    assert abs(rounded - value) <= Fraction(step, 2)
    if abs(rounded - value) == Fraction(step, 2):
        assert rounded > value


@given(st.integers(min_value=0, max_value=10**12), st.decimals(0, 100, places=4))
def test_percent_of_in_steps_is_a_multiple_of_the_step(amount, percent):
    fee = percent_of(amount * 10, percent, 10)
    assert fee % 10 == 0
    assert abs(fee - Fraction(amount * 10) * Fraction(percent) / 100) <= 5


def test_an_amount_off_the_step_is_refused_with_a_reason():
    assert amount_step_error(12340, "KWD") is None
    assert amount_step_error(1234, "EUR") is None
    assert amount_step_error(7, "JPY") is None
    assert amount_step_error(12345, "KWD") == (
        "KWD amounts move in steps of 0.010 KWD; 12.345 KWD is not one."
    )
    with pytest.raises(Unprocessable) as refused:
        amount_step_check(5, "BHD")
    assert (refused.value.status, refused.value.code) == (422, "amount_step")
