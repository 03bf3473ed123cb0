"""Money rules: integer minor units, exact fractions, half-up rounding. No floats anywhere."""

from decimal import Decimal
from fractions import Fraction

from handover.lib.errors import Unprocessable

# ISO 4217 codes accepted for offers, with their number of minor-unit digits.
CURRENCIES: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
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
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "TND": 3,
    "TRY": 2,
    "UAH": 2,
    "USD": 2,
    "ZAR": 2,
}

MAX_AMOUNT = 10**12  # minor units; far above any order and far below 64-bit limits

# Card networks settle the three-decimal currencies in hundredths: Stripe charges, refunds
# and transfers them only in whole tens of minor units (https://docs.stripe.com/currencies).
# Every amount Handover computes or accepts in them is such a multiple, so any share of an
# order can be paid out or refunded as it stands.
STEPS: dict[str, int] = {"BHD": 10, "JOD": 10, "KWD": 10, "OMR": 10, "TND": 10}


def amount_step(currency: str) -> int:
    """The smallest amount of ``currency`` that money moves in, in minor units."""
    return STEPS.get(currency, 1)


def amount_step_error(amount: int, currency: str) -> str | None:
    """Why ``amount`` cannot be charged, refunded or paid out in ``currency``, or None."""
    step = amount_step(currency)
    if amount % step:
        return (
            f"{currency} amounts move in steps of {format_amount(step, currency)}; "
            f"{format_amount(amount, currency)} is not one."
        )
    return None


def amount_step_check(amount: int, currency: str) -> None:
    """Refuse (422, ``amount_step``) an amount the payment networks cannot move."""
    if error := amount_step_error(amount, currency):
        raise Unprocessable(error, code="amount_step")


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact fraction to the nearest integer, halves away from zero."""
    if value < 0:
        raise ValueError("amounts are never negative")
    return int(value + Fraction(1, 2))


def round_to_step(value: Fraction, step: int = 1) -> int:
    """``value`` rounded half up to a whole multiple of ``step``."""
    return round_half_up(value / step) * step


def percent_of(amount: int, percent: Decimal | Fraction, step: int = 1) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up to a multiple of ``step``."""
    return round_to_step(Fraction(amount) * Fraction(percent) / 100, step)


def format_amount(amount: int, currency: str) -> str:
    digits = CURRENCIES.get(currency, 2)
    if digits == 0:
        return f"{amount} {currency}"
    units, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{sign}{units}.{minor:0{digits}d} {currency}"
