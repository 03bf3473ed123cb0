"""Payment providers behind one small interface, chosen by HANDOVER_PAYMENT_PROVIDER."""

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from django.conf import settings

from handover.lib.errors import ProviderUnavailable
from handover.lib.money import format_amount
from handover.payments.stripe_client import stripe_amount, stripe_client


@dataclass(frozen=True)
class PaymentStart:
    reference: str
    captured: bool  # True when the money is in escrow already
    instructions: str = ""
    # What the buyer's browser needs to confirm a card payment (Stripe's PaymentIntent client
    # secret). Only the buyer gets it, with the pay answer; it is never written into an event.
    client_secret: str = ""


class PaymentProvider(Protocol):
    name: str

    def start(self, *, order) -> PaymentStart: ...

    def stop(self, *, order) -> bool: ...

    def refund(self, *, order, amount: int) -> str: ...

    def payout(self, *, user, currency: str, amount: int) -> str: ...


class TestProvider:
    """Captures at once; for demos and tests. No money moves anywhere."""

    name = "test"

    def start(self, *, order) -> PaymentStart:
        return PaymentStart(reference=f"test_{secrets.token_hex(8)}", captured=True)

    def stop(self, *, order) -> bool:
        return True

    def refund(self, *, order, amount: int) -> str:
        return f"test_refund_{secrets.token_hex(8)}"

    def payout(self, *, user, currency: str, amount: int) -> str:
        return f"test_payout_{secrets.token_hex(8)}"


class ManualProvider:
    """A bank transfer that a support agent confirms when it arrives."""

    name = "manual"

    def start(self, *, order) -> PaymentStart:
        # Asking again shows the same transfer details, so a buyer never pays two references.
        reference = order.payment_reference or f"HOV-{order.pk}-{secrets.token_hex(3).upper()}"
        return PaymentStart(
            reference=reference,
            captured=False,
            instructions=(
                f"Transfer {format_amount(order.total, order.currency)} with the reference "
                f"{reference}; the order starts when support confirms the transfer."
            ),
        )

    def stop(self, *, order) -> bool:
        return True  # a transfer that arrives after all is support's to return

    def refund(self, *, order, amount: int) -> str:
        return f"manual-refund-{order.pk}-{secrets.token_hex(3).upper()}"

    def payout(self, *, user, currency: str, amount: int) -> str:
        return f"manual-payout-{user.pk}-{secrets.token_hex(3).upper()}"


# A PaymentIntent in these states has the buyer's money, or is about to: the order it pays must
# not be abandoned (https://docs.stripe.com/payments/paymentintents/lifecycle).
MONEY_MOVING = frozenset({"succeeded", "processing", "requires_capture"})
# Stripe did not answer (its SDK retries these first): nothing is known, nothing changes.
UNANSWERED = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


class StripeProvider:
    """Card payments through Stripe: a PaymentIntent per order, confirmed by the buyer's
    browser with Stripe.js; the order starts on the ``payment_intent.succeeded`` webhook
    (``billing.payins``)."""

    name = "stripe"

    def start(self, *, order) -> PaymentStart:
        try:
            intent = self._intent(order)
        except UNANSWERED:
            # Stripe's SDK has retried already; the order's transaction rolls back.
            raise ProviderUnavailable(
                "The card payment could not be started: the payment service did not answer. "
                "Try again in a moment."
            ) from None
        return PaymentStart(
            reference=intent.id, captured=False, client_secret=intent.client_secret or ""
        )

    def _intent(self, order) -> Any:
        """The order's PaymentIntent: the one it has, or a new one once that is cancelled.
        The idempotency key makes a retried create (a lost answer, a rolled-back save) return
        the same PaymentIntent, never a second one for one order."""
        client = stripe_client()
        previous = order.payment_reference
        if previous:
            intent = client.v1.payment_intents.retrieve(previous)
            if intent.status != "canceled":
                return intent
        after = f"-after-{previous}" if previous else ""
        return client.v1.payment_intents.create(
            params={
                "amount": stripe_amount(order.total, order.currency),
                "currency": order.currency.lower(),
                "metadata": {"handover_order": str(order.pk)},
            },
            options={"idempotency_key": f"handover-order-{order.pk}-payment{after}"},
        )

    def stop(self, *, order) -> bool:
        """Cancel the order's PaymentIntent so that it can no longer be paid; False when the
        money has arrived or is arriving (the order must not be abandoned then)."""
        if not order.payment_reference:
            return True
        try:
            return self._cancel(order)
        except UNANSWERED:
            # Not knowing whether the buyer paid, keep the order; the timer tries again.
            raise ProviderUnavailable(
                "The payment service did not answer: the order stays until it does."
            ) from None

    def _cancel(self, order) -> bool:
        intents = stripe_client().v1.payment_intents
        intent = intents.retrieve(order.payment_reference)
        if intent.status in MONEY_MOVING:
            return False
        if intent.status == "canceled":
            return True
        try:
            intents.cancel(intent.id)
        except stripe.InvalidRequestError:
            # The buyer confirmed between the two calls: ask once more what it is now.
            return intents.retrieve(intent.id).status not in MONEY_MOVING
        return True

    # Refunds through Stripe: part B of issue 14; payouts with Connect: part C.
    def refund(self, *, order, amount: int) -> str:
        raise NotImplementedError("Stripe refunds are part B of issue 14 (billing.refunds).")

    def payout(self, *, user, currency: str, amount: int) -> str:
        raise NotImplementedError("Stripe payouts are part C of issue 14 (billing.payouts).")


_PROVIDERS: dict[str, type[PaymentProvider]] = {
    "test": TestProvider,
    "manual": ManualProvider,
    "stripe": StripeProvider,
}


def get_provider(name: str | None = None) -> PaymentProvider:
    return _PROVIDERS[name or settings.HANDOVER_PAYMENT_PROVIDER]()
