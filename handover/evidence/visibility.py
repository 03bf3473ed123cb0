"""Who may read which event, and which of its fields: one rule for the events API, webhooks,
the order and dispute timelines, the support desk and the evidence bundle.

- Support's notes and the reports filed on an order are support's business: the parties never
  read them (a reported seller does not learn who reported them, or why).
- What the seller tells the buyer's bank in answer to a chargeback reaches the seller and support,
  not the buyer: it is the seller's side of a case the buyer opened with their bank, outside
  Handover, and the bank, not Handover, decides what of it the cardholder reads.
- Where a viewer was (address) and with what (browser) reaches support only. Newer events seal
  those values: the payload holds ``"sealed"``, a salted hash of them, and the values live in a
  support-only row (``SealedValues``) that the hash lets anyone holding them check. Older events
  carry them in the payload, so those fields are taken out for the parties.

"Support" is an agent who is not a party to the order: an agent who buys or sells reads their
own orders as a party does.
"""

from collections.abc import Mapping
from typing import Any

from handover.evidence.models import EventType

# Which agent works a dispute is support's own business, as its notes are.
SUPPORT_ONLY_TYPES = frozenset(
    {
        EventType.SUPPORT_NOTE,
        EventType.REPORT_FILED,
        EventType.DISPUTE_ASSIGNED,
        # Support's acts on a user's standing, with the rationale that stays support's (the
        # user is told by e-mail, and sees a warning's text on their next page).
        EventType.REPORT_HANDLED,
        EventType.USER_WARNED,
        EventType.USER_SUSPENDED,
        EventType.USER_REINSTATED,
    }
)
# Kept from the buyer only (support and the seller read them).
NOT_FOR_BUYER_TYPES = frozenset({EventType.CHARGEBACK_NOTE})
SUPPORT_ONLY_FIELDS = frozenset({"address", "user_agent"})


def withheld_types(*, support: bool, buyer: bool) -> frozenset[str]:
    """The event types a reader may not see at all: support reads every one; a party not
    support's; the buyer neither what is kept from the buyer."""
    if support:
        return frozenset()
    return SUPPORT_ONLY_TYPES | NOT_FOR_BUYER_TYPES if buyer else SUPPORT_ONLY_TYPES


def readable(event_type: str, *, support: bool, buyer: bool) -> bool:
    """Whether a reader may see an event of this type at all."""
    return event_type not in withheld_types(support=support, buyer=buyer)


def request_values(address: str, user_agent: str) -> dict[str, str]:
    """Where a request came from, as an event seals it (support's to read): its address and
    its browser, the browser's name cut to 300 characters."""
    return {"address": address, "user_agent": user_agent[:300]}


def payload_shown(payload: Mapping[str, Any], *, support: bool) -> dict[str, Any]:
    """The payload as this reader sees it: without the support-only fields for a party."""
    if support:
        return dict(payload)
    return {k: v for k, v in payload.items() if k not in SUPPORT_ONLY_FIELDS}


def body_shown(event_type: str, payload: Mapping[str, Any], *, support: bool, buyer: bool) -> bool:
    """Whether the reader may have the event's whole signed body (in the evidence bundle):
    not when the event, or a field of it, is withheld from them. Its hash stays in the chain."""
    if not readable(event_type, support=support, buyer=buyer):
        return False
    return support or not SUPPORT_ONLY_FIELDS.intersection(payload)


def reads_as_support(user: Any, *, buyer_id: int, seller_id: int) -> bool:
    """Whether ``user`` reads an order's record as support: an agent who is not its party."""
    return bool(user.is_support) and user.pk not in (buyer_id, seller_id)


def reads_as_buyer(user: Any, *, buyer_id: int) -> bool:
    """Whether ``user`` reads an order's record as its buyer (an agent who bought it does)."""
    return bool(user.pk == buyer_id)


def payload_for(
    payload: Mapping[str, Any], sealed: Mapping[str, Any] | None, *, support: bool
) -> dict[str, Any]:
    """The payload a reader is shown; support also reads the values sealed in it."""
    if support:
        return {**payload, **(sealed or {})}
    return payload_shown(payload, support=False)
