"""The Stripe SDK's client, built from the settings (``HANDOVER_STRIPE_*``), and amounts in
the units Stripe counts.

Every call Handover makes to Stripe goes through ``stripe_client()``; the secret key stays in
the client and is never logged or shown.
"""

from functools import lru_cache

import stripe
from django.conf import settings

from handover.lib.errors import InvalidInput

# Stripe counts most currencies in the same minor units as ISO 4217 (and Handover): cents,
# and whole yen and won for the zero-decimal ones. Three-decimal currencies are counted in
# thousandths, but a charge must be a whole number of hundredths (the last digit 0).
# https://docs.stripe.com/currencies
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def stripe_amount(amount: int, currency: str) -> int:
    """``amount`` minor units of ``currency`` as Stripe's API wants it."""
    if currency in STRIPE_THREE_DECIMAL and amount % 10:
        raise InvalidInput(
            f"Stripe charges {currency} in steps of 10 minor units; {amount} is not one.",
            code="bad_amount",
        )
    return amount


@lru_cache(maxsize=4)
def _client(secret_key: str, api_base: str) -> stripe.StripeClient:
    if not api_base:
        return stripe.StripeClient(secret_key, max_network_retries=2)
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base, "files": api_base, "connect": api_base},
        max_network_retries=2,
    )


def stripe_client() -> stripe.StripeClient:
    """The client for the configured account and API address."""
    if not settings.HANDOVER_STRIPE_SECRET_KEY:
        raise RuntimeError("HANDOVER_PAYMENT_PROVIDER=stripe needs HANDOVER_STRIPE_SECRET_KEY.")
    return _client(settings.HANDOVER_STRIPE_SECRET_KEY, settings.HANDOVER_STRIPE_API_BASE)
