"""Payment providers behind one small interface, chosen by HANDOVER_PAYMENT_PROVIDER."""

import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

import stripe
from django.conf import settings

from handover.lib.errors import InvalidInput
from handover.lib.money import format_amount
from handover.payments.models import RefundState
from handover.payments.stripe_client import stripe_amount, stripe_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentStart:
    reference: str
    captured: bool  # True when the money is in escrow already
    instructions: str = ""


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

    def refund(self, *, order, amount: int, key: str) -> RefundResult:
        # Support sends the transfer back by hand when it records the move.
        reference = f"manual-refund-{order.pk}-{secrets.token_hex(3).upper()}"
        return RefundResult(reference, RefundState.SUCCEEDED)

    def payout(self, *, user, currency: str, amount: int) -> str:
        return f"manual-payout-{user.pk}-{secrets.token_hex(3).upper()}"


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
    """Card payments through Stripe. (``start``, the PaymentIntent of a pay-in, comes with
    the pay-in.)"""

    name = "stripe"

    def start(self, *, order) -> PaymentStart:
        raise NotImplementedError("the Stripe pay-in comes with its PaymentIntent")

    def payout(self, *, user, currency: str, amount: int) -> str:
        raise NotImplementedError("Stripe payouts come with Connect")

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
