"""Money rules: integer minor units, exact fractions, half-up rounding. No floats anywhere."""

from decimal import Decimal
from fractions import Fraction

# ISO 4217 codes accepted for offers, with their number of minor-unit digits.
CURRENCIES: dict[str, int] = {
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "TRY": 2,
    "UAH": 2,
    "USD": 2,
    "ZAR": 2,
}

MAX_AMOUNT = 10**12  # minor units; far above any order and far below 64-bit limits


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact fraction to the nearest integer, halves away from zero."""
    if value < 0:
        raise ValueError("amounts are never negative")
    return int(value + Fraction(1, 2))


def percent_of(amount: int, percent: Decimal | Fraction) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up."""
    return round_half_up(Fraction(amount) * Fraction(percent) / 100)


def format_amount(amount: int, currency: str) -> str:
    digits = CURRENCIES.get(currency, 2)
    if digits == 0:
        return f"{amount} {currency}"
    units, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{sign}{units}.{minor:0{digits}d} {currency}"
