"""Trust between strangers as plain functions: when reviews may be read, what a user's record
holds, and when a buyer's record is risky. No database, no clock. Trust knows nothing of
orders: the order services tell it what happened (``services.record_*``), and the order
rules say when an order may be reviewed (``orders.rules.review_refusal``).

Reviews are double-blind. Each party of a closed order may write one review, from the
moment the order closes until ``REVIEW_WINDOW`` after it. Reviews become visible when both
are in, or when the window ends; a party always sees its own. The window is counted from the
order's close rather than from the first review: so writing closes when reviews open, and
nobody can read the other's review first and then answer it.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from handover.accounts.models import Role
from handover.lib.canonical import json_sha256
from handover.lib.errors import InvalidInput, PermissionDenied

MIN_RATING, MAX_RATING = 1, 5
MAX_REVIEW_TEXT = 2000
REVIEW_WINDOW = timedelta(days=10)


def review_window_ends(closed_at: datetime) -> datetime:
    return closed_at + REVIEW_WINDOW


def reviews_visible(*, both_in: bool, closed_at: datetime | None, now: datetime) -> bool:
    """Whether an order's reviews may be read by the other party and by strangers."""
    if both_in:
        return True
    return closed_at is not None and now >= review_window_ends(closed_at)


def review_sha256(
    *,
    order_id: int,
    author_id: int,
    subject_id: int,
    author_role: str,
    rating: int,
    text: str,
    salt: str,
) -> str:
    """The commitment to a review that its order's event carries instead of the review."""
    return json_sha256(
        {
            "order_id": order_id,
            "author_id": author_id,
            "subject_id": subject_id,
            "author_role": str(author_role),
            "rating": rating,
            "text": text,
            "salt": salt,
        }
    )


# --- cancellations ---------------------------------------------------------------------------


class Asker(StrEnum):
    """Who started a cancellation."""

    BUYER = "buyer"
    SELLER = "seller"
    TIMER = "timer"  # the seller let the acceptance window run out
    SUPPORT = "support"  # a dispute decided as a full refund


@dataclass(frozen=True)
class Cancellations:
    """Cancelled orders that had been paid, by who started them.

    ``agreed`` counts those (among ``by_buyer`` and ``by_seller``) the other party accepted:
    the mutual ones. ``after_release`` counts those cancelled after the buyer could take the
    originals; ``by_buyer_after_release`` those of them the buyer asked for, the pattern the
    product exists to stop.
    """

    total: int = 0
    by_buyer: int = 0
    by_seller: int = 0
    by_timer: int = 0
    by_support: int = 0
    agreed: int = 0
    after_release: int = 0
    by_buyer_after_release: int = 0


class DisputeResult(StrEnum):
    """How a decided dispute ends for one party: the buyer loses a release, the seller a
    refund; a split is lost by neither."""

    WON = "won"
    LOST = "lost"
    SPLIT = "split"


# --- the record ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleRecord:
    """A user's history in one role (as the buyer, or as the seller, of their orders).

    Disputes: the buyer loses one decided ``release``, the seller one decided ``refund``; a
    ``split`` is counted apart, lost by neither. ``disputes_opened`` counts the disputes this
    user opened, not those the cancellation timer opened.
    """

    completed: int = 0
    charged_back: int = 0
    cancellations: Cancellations = field(default_factory=Cancellations)
    disputes_opened: int = 0
    disputes_won: int = 0
    disputes_lost: int = 0
    disputes_split: int = 0
    review_count: int = 0
    review_average: float | None = None

    @property
    def closed(self) -> int:
        """Orders that ended: completed, charged back or cancelled after payment."""
        return self.completed + self.charged_back + self.cancellations.total


@dataclass(frozen=True)
class UserRecord:
    """What strangers judge a user by. Reviews count only once visible; ``reporters`` is the
    number of different users who reported this one."""

    user_id: int
    username: str
    as_buyer: RoleRecord
    as_seller: RoleRecord
    reports_received: int = 0
    reporters: int = 0
    review_count: int = 0
    review_average: float | None = None

    @property
    def orders_completed(self) -> int:
        return self.as_buyer.completed + self.as_seller.completed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "orders_completed": self.orders_completed}


# --- the acceptance threshold ----------------------------------------------------------------

MAX_THRESHOLD_COUNT = 10_000


@dataclass(frozen=True)
class RiskThreshold:
    """When a buyer's record makes an order wait for the seller's acceptance.

    A record crosses it when any figure of the buyer's history is above its maximum, or the
    completed orders are below ``min_completed`` (0: new buyers are welcome).
    ``max_release_cancellation_percent`` bounds the share of the buyer's ended orders that
    the buyer cancelled after the originals had been released.
    """

    max_release_cancellation_percent: int = 20
    max_disputes_lost: int = 1
    max_chargebacks: int = 0
    max_reporters: int = 2
    min_completed: int = 0

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> "RiskThreshold":
        """A threshold from stored JSON; missing fields take their defaults."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise InvalidInput("The risk threshold is an object.", code="bad_threshold")
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(value) - known):
            raise InvalidInput(
                f"Unknown risk threshold fields: {', '.join(map(str, unknown))}.",
                code="bad_threshold",
            )
        for name, number in value.items():
            limit = 100 if name.endswith("_percent") else MAX_THRESHOLD_COUNT
            if type(number) is not int or not 0 <= number <= limit:
                raise InvalidInput(
                    f"The risk threshold's {name} is a whole number from 0 to {limit}.",
                    code="bad_threshold",
                )
        return cls(**value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def record_risks(record: UserRecord, threshold: RiskThreshold) -> list[str]:
    """Why ``record``, judged as a buyer, crosses ``threshold``; empty when it does not."""
    buyer, t = record.as_buyer, threshold
    reasons = []
    released = buyer.cancellations.by_buyer_after_release
    if released and 100 * released > t.max_release_cancellation_percent * buyer.closed:
        reasons.append(f"cancelled {released} of {buyer.closed} orders after taking originals")
    if buyer.disputes_lost > t.max_disputes_lost:
        reasons.append(f"lost {buyer.disputes_lost} disputes")
    if buyer.charged_back > t.max_chargebacks:
        reasons.append(f"charged back {buyer.charged_back} orders")
    if record.reporters > t.max_reporters:
        reasons.append(f"reported by {record.reporters} users")
    if buyer.completed < t.min_completed:
        reasons.append(f"completed {buyer.completed} orders, fewer than {t.min_completed}")
    return reasons


def record_is_risky(record: UserRecord, threshold: RiskThreshold) -> bool:
    """Whether an order from this buyer should wait for the seller's acceptance."""
    return bool(record_risks(record, threshold))


# --- a user's standing: warnings and suspension ------------------------------------------------

MAX_WARNING_TEXT = 2000
MAX_RATIONALE = 5000


class AccountSuspended(PermissionDenied):
    """A suspended user signing in, or calling the API with a token of theirs."""

    code = "account_suspended"


SUSPENDED_DETAIL = (
    "This account is suspended by support: it cannot sign in or use the API. "
    "Write to support if you think this is a mistake."
)


def standing_refusal(
    *, agent_id: int, agent_role: str, subject_id: int, subject_role: str
) -> str | None:
    """Why this agent may not warn or suspend this user; None when they may. Support acts on
    members; only an operator acts on a support agent; nobody acts on an operator or on
    themself (a second agent looks at it)."""
    if agent_role not in (Role.SUPPORT, Role.OPERATOR):
        return "A user's standing is support's to change."
    if agent_id == subject_id:
        return "You cannot act on your own account: another agent does that."
    if subject_role == Role.OPERATOR:
        return "An operator's account is not the support desk's to act on."
    if subject_role == Role.SUPPORT and agent_role != Role.OPERATOR:
        return "Only an operator acts on a support agent's account."
    return None
