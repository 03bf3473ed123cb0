"""Fee and refund arithmetic: pure functions on integer minor units."""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from handover.lib.money import percent_of, round_to_step


@dataclass(frozen=True)
class Pricing:
    price: int
    buyer_fee: int
    seller_fee: int

    @property
    def total(self) -> int:
        return self.price + self.buyer_fee


def pricing(
    *, price: int, buyer_fee_percent: Decimal, seller_fee_percent: Decimal, step: int = 1
) -> Pricing:
    """The amounts fixed when an order is placed; the fees are multiples of ``step`` (the
    currency's ``amount_step``), as the price is."""
    return Pricing(
        price=price,
        buyer_fee=percent_of(price, buyer_fee_percent, step),
        seller_fee=percent_of(price, seller_fee_percent, step),
    )


@dataclass(frozen=True)
class Shares:
    """Where an order's total goes: back to the buyer, to the seller, to the platform."""

    refund: int
    seller: int
    platform: int


def shares(*, total: int, price: int, seller_fee: int, refund: int, step: int = 1) -> Shares:
    """Refund R goes back; the rest is settled like a completed order of that size.

    The seller's share of what remains is the seller's share of a full order (price less
    the seller fee) scaled by remaining / total and rounded half up to a multiple of
    ``step``; the platform gets the rest, so the three always add up to the total exactly
    (and, when the total and the refund are multiples of ``step``, each share is one too).
    """
    if not 0 <= refund <= total:
        raise ValueError(f"refund {refund} outside 0..{total}")
    remaining = total - refund
    seller = round_to_step(Fraction((price - seller_fee) * remaining, total), step) if total else 0
    return Shares(refund=refund, seller=seller, platform=remaining - seller)


def shares_delta(before: Shares, after: Shares) -> Shares:
    """What moves when a settled order's refund is raised from ``before`` to ``after``."""
    return Shares(
        refund=after.refund - before.refund,
        seller=before.seller - after.seller,
        platform=before.platform - after.platform,
    )
