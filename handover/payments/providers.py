"""Payment providers behind one small interface, chosen by HANDOVER_PAYMENT_PROVIDER."""

import secrets
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from handover.lib.money import format_amount


@dataclass(frozen=True)
class PaymentStart:
    reference: str
    captured: bool  # True when the money is in escrow already
    instructions: str = ""


class PaymentProvider(Protocol):
    name: str

    def start(self, *, order) -> PaymentStart: ...

    def refund(self, *, order, amount: int) -> str: ...

    def payout(self, *, user, currency: str, amount: int) -> str: ...


class TestProvider:
    """Captures at once; for demos and tests. No money moves anywhere."""

    name = "test"

    def start(self, *, order) -> PaymentStart:
        return PaymentStart(reference=f"test_{secrets.token_hex(8)}", captured=True)

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

    def refund(self, *, order, amount: int) -> str:
        return f"manual-refund-{order.pk}-{secrets.token_hex(3).upper()}"

    def payout(self, *, user, currency: str, amount: int) -> str:
        return f"manual-payout-{user.pk}-{secrets.token_hex(3).upper()}"


_PROVIDERS: dict[str, type[PaymentProvider]] = {"test": TestProvider, "manual": ManualProvider}


def get_provider(name: str | None = None) -> PaymentProvider:
    return _PROVIDERS[name or settings.HANDOVER_PAYMENT_PROVIDER]()
