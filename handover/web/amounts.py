"""Amounts as people type them ("120", "120.50") and as the services keep them (integer minor
units). Exact: the text becomes a Decimal, never a float. Pure functions, no database."""

import re
from decimal import Decimal

from handover.lib.money import CURRENCIES, MAX_AMOUNT, amount_step_error

_AMOUNT = re.compile(r"(?P<units>[0-9]+)(?:[.,](?P<decimals>[0-9]*))?")


def amount_parse(text: str, currency: str) -> int:
    """``text`` in major units of ``currency`` as minor units: "120.5" EUR gives 12050.

    Raises ValueError, worded for the person who typed it, for anything but digits with at
    most one decimal separator, with more decimals than the currency has, or off the
    currency's step (three-decimal currencies move in hundredths: "12.345" KWD is refused)."""
    digits = CURRENCIES.get(currency)
    if digits is None:
        raise ValueError(f"Unknown currency {currency}.")
    found = _AMOUNT.fullmatch(text.strip())
    if found is None:
        example = "120" if digits == 0 else "120.50"
        raise ValueError(f"Write the amount in digits, like {example}.")
    decimals = found["decimals"] or ""
    if len(found["units"].lstrip("0")) > len(str(MAX_AMOUNT)):
        raise ValueError("That amount is too large.")  # and Decimal stays within its precision
    if len(decimals) > digits:
        if digits == 0:
            raise ValueError(f"{currency} amounts have no decimals.")
        raise ValueError(f"{currency} amounts have at most {digits} decimals.")
    amount = int(Decimal(f"{found['units']}.{decimals or '0'}").scaleb(digits))
    if error := amount_step_error(amount, currency):
        raise ValueError(error)
    return amount


def amount_text(amount: int, currency: str) -> str:
    """Minor units as the form shows them again: 12050 EUR gives "120.50"."""
    digits = CURRENCIES.get(currency, 2)
    if digits == 0:
        return str(amount)
    units, minor = divmod(amount, 10**digits)
    return f"{units}.{minor:0{digits}d}"
