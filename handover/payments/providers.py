"""Payment providers behind one small interface, chosen by HANDOVER_PAYMENT_PROVIDER."""

import logging
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from django.conf import settings

from handover.lib.errors import InvalidInput, ProviderUnavailable
from handover.lib.money import format_amount
from handover.payments.models import RefundState
from handover.payments.stripe_client import stripe_amount, stripe_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentStart:
    reference: str
    captured: bool  # True when the money is in escrow already
    instructions: str = ""
    # What the buyer's browser needs to confirm a card payment (Stripe's PaymentIntent client
    # secret). Only the buyer gets it, with the pay answer; it is never written into an event.
    client_secret: str = ""


@dataclass(frozen=True)
class RefundResult:
    """What the provider answered to a refund: its id there, and whether the money left."""

    reference: str
    state: RefundState
    failure: str = ""  # the provider's words when it refused or failed
    failure_code: str = ""


class PaymentProvider(Protocol):
    name: str

    def start(self, *, order) -> PaymentStart: ...

    def stop(self, *, order) -> bool: ...

    def refund(self, *, order, amount: int, key: str) -> RefundResult:
        """Send ``amount`` of the order's payment back to the buyer; ``key`` names this refund
        so that asking twice makes one. Never raises for the provider's refusal: that is a
        ``failed`` result, and the order's move stands."""
        ...

    def payout(self, *, user, currency: str, amount: int) -> str: ...


class TestProvider:
    """Captures at once; for demos and tests. No money moves anywhere."""

    name = "test"

    def start(self, *, order) -> PaymentStart:
        return PaymentStart(reference=f"test_{secrets.token_hex(8)}", captured=True)

    def stop(self, *, order) -> bool:
        return True

    def refund(self, *, order, amount: int, key: str) -> RefundResult:
        return RefundResult(f"test_refund_{secrets.token_hex(8)}", RefundState.SUCCEEDED)

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

    def refund(self, *, order, amount: int, key: str) -> RefundResult:
        # Support sends the transfer back by hand when it records the move.
        reference = f"manual-refund-{order.pk}-{secrets.token_hex(3).upper()}"
        return RefundResult(reference, RefundState.SUCCEEDED)

    def payout(self, *, user, currency: str, amount: int) -> str:
        return f"manual-payout-{user.pk}-{secrets.token_hex(3).upper()}"


# A PaymentIntent in these states has the buyer's money, or is about to: the order it pays must
# not be abandoned (https://docs.stripe.com/payments/paymentintents/lifecycle).
MONEY_MOVING = frozenset({"succeeded", "processing", "requires_capture"})
# Stripe did not answer (its SDK retries these first): nothing is known, nothing changes.
UNANSWERED = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


# A Stripe Refund's status -> how far the money got (https://docs.stripe.com/api/refunds/object).
_STRIPE_REFUND_STATES = {
    "succeeded": RefundState.SUCCEEDED,
    "pending": RefundState.PENDING,
    "requires_action": RefundState.PENDING,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}


def stripe_refund_state(status: str) -> RefundState:
    return _STRIPE_REFUND_STATES.get(status, RefundState.PENDING)


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

    def payout(self, *, user, currency: str, amount: int) -> str:
        # Stripe pays a seller by a Transfer to their linked Connect account, which only
        # billing knows: ``billing.payouts`` sends it and never calls this.
        raise NotImplementedError("Stripe payouts are Transfers sent by billing.payouts")

    def refund(self, *, order, amount: int, key: str) -> RefundResult:
        """A Stripe Refund of exactly ``amount`` on the order's PaymentIntent."""
        try:
            refund = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": order.payment_reference,
                    "amount": stripe_amount(amount, order.currency),
                    "metadata": {"handover_order": str(order.pk), "handover_refund_key": key},
                },
                options={"idempotency_key": key},
            )
        except InvalidInput as error:
            return RefundResult("", RefundState.FAILED, str(error), "bad_amount")
        except stripe.APIConnectionError:
            # Stripe may have made it: a retry with the same key cannot make a second.
            logger.warning("Stripe did not answer refund %s of order %s", key, order.pk)
            return RefundResult("", RefundState.FAILED, "Stripe did not answer.", "connection")
        except stripe.StripeError as error:
            logger.warning("Stripe refused refund %s of order %s: %s", key, order.pk, error.code)
            message = error.user_message or "Stripe refused the refund."
            return RefundResult("", RefundState.FAILED, message, error.code or "refused")
        state = stripe_refund_state(refund.status or "")
        reason = getattr(refund, "failure_reason", None) or "The refund failed at Stripe."
        failure = reason if state == RefundState.FAILED else ""
        return RefundResult(refund.id, state, failure, failure)


_PROVIDERS: dict[str, type[PaymentProvider]] = {
    "test": TestProvider,
    "manual": ManualProvider,
    "stripe": StripeProvider,
}


def get_provider(name: str | None = None) -> PaymentProvider:
    return _PROVIDERS[name or settings.HANDOVER_PAYMENT_PROVIDER]()
