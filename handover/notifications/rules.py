"""Who hears about which event, what the e-mail says, when a failed send is tried again, and
how a webhook delivery is signed. Pure functions: no database, no network."""

import hashlib
import hmac
import ipaddress
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from handover.evidence.models import Actor, EventType
from handover.evidence.visibility import SUPPORT_ONLY_TYPES
from handover.lib.money import format_amount
from handover.notifications.models import LOCKED_KINDS, Kind


class Party(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    SUPPORT = "support"


# --- retries -----------------------------------------------------------------------------------

# The wait after each failed attempt; the attempt after the last wait is the last one.
BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# A claimed message is due again after this unless its attempt finishes first: a worker killed
# mid-send leaves it pending, and another worker sends it then. Far longer than one batch of
# sends can take (see services.CHUNK and services.BUDGET), so no live send is taken over.
CLAIM_LEASE = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed attempt; None when it was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return BACKOFF[max(attempts, 1) - 1]


# --- who hears about what ----------------------------------------------------------------------
#
# The service that records an event says who hears of it: the order services pass the notice of
# each move of the lifecycle (``orders.notices``); the other events' notices are below, by type.

NOBODY: frozenset[Party] = frozenset()
Who = Callable[[str], frozenset[Party]]
Details = Callable[[Mapping[str, Any], str], list[str]]


def to(*parties: Party) -> Who:
    return lambda actor_role: frozenset(parties)


def other_party(actor_role: str) -> frozenset[Party]:
    """The party who did not act; both when support or a timer acted."""
    if actor_role == Actor.BUYER:
        return frozenset({Party.SELLER})
    if actor_role == Actor.SELLER:
        return frozenset({Party.BUYER})
    return frozenset({Party.BUYER, Party.SELLER})


def timer_also_tells(party: Party, always: Party) -> Who:
    return lambda actor_role: frozenset({always, party} if actor_role == Actor.TIMER else {always})


def unless_acting(party: Party) -> Who:
    return lambda actor_role: NOBODY if actor_role == party else frozenset({party})


def no_details(payload: Mapping[str, Any], currency: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Notice:
    who: Who
    subject: str  # formatted with the order's number as {n}
    details: Details = no_details  # the e-mail's lines after the subject
    kind: Kind = field(kw_only=True)  # what users switch e-mails off by (ALWAYS_MAILED aside)


def _message(payload: Mapping[str, Any], currency: str) -> list[str]:
    return [quote("Message", payload.get("body"))]


def _failure(payload: Mapping[str, Any], currency: str) -> list[str]:
    return [str(payload.get("reason", ""))]


def _payment_failed(payload: Mapping[str, Any], currency: str) -> list[str]:
    return [str(payload.get("reason", "")), "The order waits for your payment: you can try again."]


def _payment_returned(payload: Mapping[str, Any], currency: str) -> list[str]:
    amount = format_amount(int(payload.get("amount", 0)), currency)
    return [
        f"Your payment of {amount} arrived after the order was cancelled; it is returned in full."
    ]


def _auto_complete(payload: Mapping[str, Any], currency: str) -> list[str]:
    on = payload.get("enabled")
    return ["Auto-completion is now " + ("on." if on else "off: only the buyer completes.")]


def _cleared(payload: Mapping[str, Any], currency: str) -> list[str]:
    if "amount" not in payload:
        return []
    return [f"{format_amount(payload['amount'], currency)} moved to your available balance."]


def _refund_failure(payload: Mapping[str, Any], currency: str) -> list[str]:
    amount = payload.get("amount")
    what = format_amount(amount, currency) if isinstance(amount, int) else "A refund"
    if payload.get("returned"):
        # Stripe had sent it, then the buyer's bank gave it back (a closed card account, say).
        said = f"{what} sent to the buyer came back to the platform: {payload.get('failure', '')}"
    else:
        said = f"{what} to the buyer did not go through: {payload.get('failure', '')}"
    return [said, "Retry it from the failed refunds on the support desk."]


# Events other than transitions. Downloads, refusals and preview views are on the record but
# mail nobody: a buyer's every click would become a seller's e-mail.
EVENT_NOTICES: dict[str, Notice] = {
    EventType.MESSAGE_POSTED: Notice(
        other_party, "New message on order #{n}", _message, kind=Kind.MESSAGES
    ),
    EventType.DELIVERY_RELEASED_EARLY: Notice(
        to(Party.BUYER), "Originals of order #{n} are released to you", kind=Kind.ORDERS
    ),
    EventType.PREVIEW_FAILED: Notice(
        to(Party.SELLER), "A preview could not be made on order #{n}", _failure, kind=Kind.ORDERS
    ),
    EventType.PAYMENT_FAILED: Notice(
        to(Party.BUYER),
        "Your payment for order #{n} did not go through",
        _payment_failed,
        kind=Kind.MONEY,
    ),
    EventType.PAYMENT_RETURNED: Notice(
        to(Party.BUYER),
        "Your payment for cancelled order #{n} is returned",
        _payment_returned,
        kind=Kind.MONEY,
    ),
    EventType.REVISION_GRANTED: Notice(
        to(Party.BUYER), "The seller granted another revision on order #{n}", kind=Kind.ORDERS
    ),
    EventType.AUTO_COMPLETE_CHANGED: Notice(
        to(Party.SELLER),
        "The buyer changed auto-completion of order #{n}",
        _auto_complete,
        kind=Kind.ORDERS,
    ),
    EventType.FUNDS_CLEARED: Notice(
        to(Party.SELLER), "Earnings from order #{n} are available", _cleared, kind=Kind.MONEY
    ),
    EventType.REVIEW_SUBMITTED: Notice(
        other_party, "A review was submitted on order #{n}", kind=Kind.REVIEWS
    ),
    EventType.REPORT_FILED: Notice(to(Party.SUPPORT), "A report was filed", kind=Kind.REPORTS),
    EventType.REFUND_FAILED: Notice(
        to(Party.SUPPORT), "A refund on order #{n} failed", _refund_failure, kind=Kind.MONEY
    ),
}


# Events that mail nobody, named so that a new event type is a decision, not an omission.
SILENT = frozenset(
    {
        EventType.ORDER_PLACED,  # the seller hears once it is paid
        EventType.ANSWERS_UPDATED,
        EventType.PAYMENT_STARTED,
        EventType.DELIVERY_CREATED,  # delivering is the order.transition "deliver"
        EventType.ORIGINAL_DOWNLOADED,
        EventType.ORIGINAL_REFUSED,
        EventType.ATTACHMENT_DOWNLOADED,  # a reference file: the buyer's own
        EventType.PREVIEW_MADE,
        EventType.PREVIEW_VIEWED,
        EventType.SUPPORT_NOTE,  # support's own record
        EventType.DISPUTE_ASSIGNED,  # support's own record
        EventType.PAYOUT_MADE,  # the seller asked for it
        EventType.REFUND_SENT,  # the move that decided the refund told the buyer of it
        EventType.REFUND_RETRIED,  # support's own act
        EventType.CHARGEBACK_NOTE,  # the seller's own words to the bank
        EventType.DISPUTE_CLOSED,  # the chargeback's loss told everyone
        EventType.OFFER_CREATED,
        EventType.OFFER_TERMS_VERSIONED,
        EventType.REPORT_HANDLED,  # the reporter is not told what support did
        # Events of no order: trust.services mails the user they are about (email_to_user).
        EventType.USER_WARNED,
        EventType.USER_SUSPENDED,
        EventType.USER_REINSTATED,
    }
)


def recipients(notice: Notice | None, actor_role: str) -> frozenset[Party]:
    """The parties an event is e-mailed to (the acting user is left out by the caller)."""
    return NOBODY if notice is None else notice.who(actor_role)


# --- which e-mails a user may switch off -------------------------------------------------------

# Why these kinds are always e-mailed, as the preferences form says beside each.
ALWAYS_MAILED: dict[Kind, str] = {
    Kind.MONEY: "Money held, released or taken back: you always hear of it.",
    Kind.CANCELLATIONS: "A cancellation request decides a refund and runs out if unanswered.",
    Kind.DISPUTES: "A dispute decides where the money goes, and support may wait on you.",
}
assert set(ALWAYS_MAILED) == set(LOCKED_KINDS)
SWITCHABLE = frozenset(Kind) - set(ALWAYS_MAILED)
STAFF_ONLY = frozenset({Kind.REPORTS})  # offered only to support and operators


def kinds_offered(*, staff: bool) -> list[Kind]:
    """The kinds a user's preferences form lists, in the order it lists them."""
    return [kind for kind in Kind if staff or kind not in STAFF_ONLY]


def opt_outs_error(wanted: set[str], *, staff: bool) -> str | None:
    """Why a posted set of wanted kinds is refused, or None: only kinds the form offers."""
    unknown = wanted - {kind.value for kind in kinds_offered(staff=staff)}
    if unknown:
        return "Choose among the kinds of e-mail listed."
    return None


# --- which page a notification is about --------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A web page: its URL name and arguments, and how an e-mail names it."""

    name: str
    args: tuple[int, ...]
    label: str


SETTINGS_PAGE = Page("web:notification_emails", (), "Choose which e-mails you get")
LIST_PAGE = Page("web:notifications", (), "Your notifications")


def page_for(
    event_type: str, payload: Mapping[str, Any], *, party: Party, order_id: int | None
) -> Page:
    """The page a party's notification of this event links to: support goes to the dispute
    or the report in its desk, a seller's cleared earnings to the balance, everything else
    to its order."""
    dispute_id = payload.get("dispute_id")
    if party == Party.SUPPORT and isinstance(dispute_id, int):
        return Page("web:dispute", (dispute_id,), f"Dispute #{dispute_id}")
    report_id = payload.get("report_id")
    if (
        party == Party.SUPPORT
        and event_type == EventType.REPORT_FILED
        and isinstance(report_id, int)
    ):
        return Page("web:report", (report_id,), f"Report #{report_id}")
    if event_type == EventType.FUNDS_CLEARED:
        return Page("web:balance", (), "Your balance")
    if order_id is not None:
        return Page("web:order", (order_id,), f"Order #{order_id}")
    return LIST_PAGE


# --- what the e-mail says ----------------------------------------------------------------------

MAX_QUOTE = 2000  # characters of a message, reason or rationale quoted in an e-mail
MAX_SUBJECT = 200


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def email_for(
    notice: Notice | None,
    payload: Mapping[str, Any],
    *,
    order_id: int | None,
    currency: str,
    links: Mapping[Page, str],
) -> Email | None:
    """The e-mail about an event; None if it mails nobody. ``links`` are the web pages it
    ends with (the page it is about, then the preferences), as absolute URLs (lib.links)."""
    if notice is None:
        return None
    subject = notice.subject.format(n=order_id)[:MAX_SUBJECT]
    lines = notice.details(payload, currency)
    lines.extend(f"{page.label}: {url}" for page, url in links.items())
    return Email(subject=subject, body="\n\n".join([subject + ".", *lines]) + "\n")


def when_line(at: datetime, zone: str) -> str:
    """When the event happened, in the recipient's time zone (an IANA name; UTC if unknown)."""
    try:
        local = at.astimezone(zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        local, zone = at.astimezone(UTC), "UTC"
    return f"When: {local:%A} {local.day} {local:%B %Y, %H:%M} ({zone})"


def quote(label: str, text: Any) -> str:
    """``text`` under ``label``, cut at MAX_QUOTE characters."""
    text = str(text or "")
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE] + " [...]"
    return f"{label}:\n{text}"


# --- webhooks ----------------------------------------------------------------------------------

# Never sent to a party's endpoint: what only support reads (evidence.visibility).
WEBHOOK_WITHHELD = SUPPORT_ONLY_TYPES
WEBHOOK_EVENT_TYPES = frozenset(EventType) - WEBHOOK_WITHHELD
MAX_URL = 2000


def webhook_wants(subscribed: list[str], event_type: str) -> bool:
    """Whether a webhook subscribed to ``subscribed`` (empty: everything) gets this event."""
    if event_type in WEBHOOK_WITHHELD:
        return False
    return not subscribed or event_type in subscribed


def webhook_url_error(url: str) -> str | None:
    """Why ``url`` cannot be a webhook's address, or None."""
    if len(url) > MAX_URL or not url.isprintable() or any(c.isspace() for c in url):
        return f"Give an http or https URL of at most {MAX_URL} characters, without spaces."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return "This URL cannot be parsed."
    if parts.scheme not in ("http", "https"):
        return "Only http and https URLs can receive webhooks."
    if parts.username is not None or parts.password is not None:
        return "Put no credentials in the URL; check the Handover-Signature header instead."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.fragment:
        return "The URL may not have a #fragment."
    return None


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a webhook may be sent to this IP address: public ones only, unless the operator
    allows private ones. Otherwise any user could make the server call its own network
    (databases, admin ports, cloud metadata at 169.254.169.254)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    return allow_private or ip.is_global


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Handover-Signature`` header: ``t=<unix time>,v1=<hex HMAC-SHA256>`` of
    ``"<t>.<body>"`` keyed with the webhook's secret (Stripe's scheme)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_valid(
    header: str, *, secret: str, body: bytes, now: int, tolerance: int = 300
) -> bool:
    """What a receiver checks: a v1 signature of this body, made within ``tolerance`` seconds."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
