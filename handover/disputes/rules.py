"""Pure rules of the support desk: times and events said for people, and contact details
found in what the parties wrote. No database here."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handover.evidence.models import EventType as E
from handover.lib.money import format_amount
from handover.orders.rules import Action as A

# --- time, said for people -------------------------------------------------------------------


def when(moment: datetime) -> str:
    """``3 May 14:05``: the day and minute in UTC, the time zone the record is kept in."""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %H:%M}"


def span(delta: timedelta) -> str:
    """``2 d 3 h``, ``5 h 20 min``, ``45 min``, ``30 s``: the two largest units."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    shown = [f"{n} {unit}" for n, unit in parts[:2] if n]
    return " ".join(shown) or f"0 {parts[0][1]}"


# --- contact details -------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A way to reach someone off the platform, as written."""

    kind: str  # "e-mail address", "phone number", "messenger"
    text: str


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w@])"
)
# "logo@2x.png" and "icon@3x.webp" are file names, not addresses.
_FILE_NAME = re.compile(
    r"@\d+x\.|\.(?:png|jpe?g|gif|svg|webp|heic|tiff?|psd|pdf|mp[34]|wav)$", re.IGNORECASE
)
# "jane [at] example [dot] com", "jane (at) example (dot) com", "jane at example dot com"
_EMAIL_SPELLED = re.compile(
    r"(?<![\w.])[A-Za-z0-9][\w.+-]*\s*(?:\[at\]|\(at\)|\{at\}|\sat\s)\s*[A-Za-z0-9-]+"
    r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*(?:com|net|org|de|fr|io|co|uk|eu|info|me)\b",
    re.IGNORECASE,
)
_MESSENGER_LINK = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?"
    r"(?:wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|t\.me|telegram\.me|telegram\.dog"
    r"|discord\.gg|discord(?:app)?\.com/(?:invite|users)|join\.skype\.com|m\.me|signal\.me"
    r"|line\.me|u\.wechat\.com)/[\w/?=&#%+.-]*"
    r"|\b(?:skype|viber|whatsapp|tg|sgnl):[\w/?=&#%+.-]+",
    re.IGNORECASE,
)
# Names of messengers that mean nothing else in a brief ("signal" and "line" do, so only
# their links count).
_MESSENGER_NAME = re.compile(
    r"\b(?:what'?s\s?app|telegram|skype|discord|viber|wechat|kakaotalk|threema)\b",
    re.IGNORECASE,
)
# "add me @jane_doe", "dm me at @jane.doe": a handle offered without naming the messenger.
_HANDLE_OFFERED = re.compile(
    r"\b(?:add|contact|message|text|dm|ping|reach|find|follow|write)\s+me\s+(?:on\s+|at\s+)?"
    r"@[A-Za-z][\w.]{2,31}",
    re.IGNORECASE,
)

# Numbers that are not phone numbers, blanked out before looking for phone numbers: dates and
# times, versions and addresses of machines, amounts of money, order and invoice references,
# sizes in pixels.
_NOT_PHONES = re.compile(
    r"\b\d{4}[./-]\d{1,2}[./-]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?\b"  # 2024-05-03 14:30
    r"|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"  # 03/05/2024, 3.5.24
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b"  # 14:30
    r"|\bv\d+(?:\.\d+)+\b|\b\d{1,3}(?:\.\d{1,3}){2,3}\b"  # v2.10.3, 1.2.3, 192.168.0.1
    r"|[$€£¥]\s?\d[\d,. ]*\d"  # € 1 250.00
    r"|\b\d[\d,. ]*\d\s?(?:(?:eur|usd|gbp|chf|sek|nok|dkk|pln|cents?)\b|[€$£])"  # 1 250 EUR
    r"|(?:#|\b(?:order|invoice|ticket|ref|nr)\.?\s*#?\s*)\d[\w-]*"  # order #1234, INV-2024
    r"|\b\d+\s?[x\u00d7]\s?\d+\b",  # 1920x1080, and with the multiplication sign
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+#/.-])(?:\+|00)\d[\d\s().-]{6,20}\d(?!\w)"  # +49 170 1234567, 0044 20 7946 0958
    r"|(?<![\w+#/.-])0\d[\d\s()./-]{6,16}\d(?!\w)"  # 0170 1234567, 030/1234567
    r"|(?<![\w+])\(\d{3}\)\s?\d{3}[\s.-]?\d{4}(?!\w)"  # (555) 123-4567
    r"|(?<![\w+.-])\d{3}[\s.-]\d{3}[\s.-]\d{4}(?![\w.-]*\d)"  # 555-123-4567
)


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _emails(text: str) -> list[re.Match]:
    return [m for m in _EMAIL.finditer(text) if not _FILE_NAME.search(m.group())]


def _phones(text: str) -> list[re.Match]:
    blanked = _NOT_PHONES.sub(lambda m: " " * len(m.group()), text)
    # A phone number has 8 to 15 digits (E.164).
    return [m for m in _PHONE.finditer(blanked) if 8 <= _digits(m.group()) <= 15]


def contacts_in(text: str) -> list[Contact]:
    """Every e-mail address, phone number and messenger handle or link in ``text``, in the
    order they appear; a part of one (the number in a WhatsApp link) is not counted again."""
    found: list[tuple[int, int, str]] = []
    for kind, matches in (
        ("e-mail address", _emails(text)),
        ("e-mail address", list(_EMAIL_SPELLED.finditer(text))),
        ("messenger", list(_MESSENGER_LINK.finditer(text))),
        ("phone number", _phones(text)),
        ("messenger", list(_MESSENGER_NAME.finditer(text))),
        ("messenger", list(_HANDLE_OFFERED.finditer(text))),
    ):
        for match in matches:
            start, end = match.span()
            if not any(start < e and s < end for s, e, _ in found):
                found.append((start, end, kind))
    return [Contact(kind, text[s:e].strip()) for s, e, kind in sorted(found)]


# --- the timeline, said for people -----------------------------------------------------------

_MOVES = {
    A.PAY: "payment captured",
    A.ABANDON: "abandoned the order",
    A.ACCEPT_ORDER: "accepted the order",
    A.DECLINE_ORDER: "declined the order",
    A.DELIVER: "delivered",
    A.ACCEPT: "accepted the delivery",
    A.REQUEST_REVISION: "asked for a revision",
    A.CANCEL_LATE: "cancelled the late order",
    A.REQUEST_CANCELLATION: "asked to cancel",
    A.ACCEPT_CANCELLATION: "accepted the cancellation",
    A.DECLINE_CANCELLATION: "declined the cancellation",
    A.WITHDRAW_CANCELLATION: "withdrew the cancellation request",
    A.EXPIRE_CANCELLATION: "the cancellation request went unanswered",
    A.SETTLE_CANCELLATION: "settled the cancellation request",
    A.OPEN_DISPUTE: "opened a dispute",
    A.DECIDE: "decided the dispute",
    A.CHARGEBACK: "the buyer's bank took the payment back (chargeback hold)",
    A.CHARGEBACK_WON: "the chargeback was won",
    A.CHARGEBACK_LOST: "the chargeback was lost: the payment was charged back",
}
_EVENTS = {
    E.ORDER_PLACED: "placed the order",
    E.ANSWERS_UPDATED: "changed the requirement answers",
    E.PAYMENT_STARTED: "started the payment",
    E.PAYMENT_FAILED: "the payment did not go through",
    E.PAYMENT_RETURNED: "the payment arrived late and was returned",
    E.MESSAGE_POSTED: "wrote a message",
    E.DELIVERY_CREATED: "delivered",
    E.DELIVERY_RELEASED_EARLY: "released a delivery's originals early",
    E.ORIGINAL_DOWNLOADED: "downloaded the original of {file}",
    E.ORIGINAL_REFUSED: "was refused the original of {file} (not released yet)",
    E.PREVIEW_MADE: "made the preview of {file}",
    E.PREVIEW_FAILED: "could not preview {file}",
    E.PREVIEW_VIEWED: "viewed the preview of {file}",
    E.SUPPORT_NOTE: "added an internal note",
    E.DISPUTE_ASSIGNED: "took the dispute on",
    E.REVIEW_SUBMITTED: "submitted a review",
    E.REPORT_FILED: "filed a report",
    E.AUTO_COMPLETE_CHANGED: "turned auto-completion {switch}",
    E.REVISION_GRANTED: "granted another revision",
    E.FUNDS_CLEARED: "the seller's earnings cleared",
    E.PAYOUT_MADE: "paid out",
    E.ATTACHMENT_DOWNLOADED: "downloaded a reference file",
    E.REFUND_SENT: "the refund to the buyer was confirmed",
    E.REFUND_FAILED: "the refund to the buyer failed",
    E.REFUND_RETRIED: "tried the failed refund again",
    E.CHARGEBACK_NOTE: "wrote a note for the buyer's bank",
    E.DISPUTE_CLOSED: "the dispute was closed without a decision",
}
# The words an event carries, quoted after what it means.
_QUOTED = {E.CHARGEBACK_NOTE: "note", E.DISPUTE_CLOSED: "reason"}


def quoted(text: str, limit: int = 160) -> str:
    """``“text”``, on one line, cut at ``limit`` characters."""
    line = " ".join(text.split())
    return f"“{line if len(line) <= limit else line[: limit - 1] + '…'}”"


def event_summary(type: str, role: str, payload: dict, *, currency: str, file: str = "") -> str:
    """One line saying what an event of the order's record means."""
    who = role.capitalize() if role else "Someone"
    if type == E.ORDER_TRANSITION:
        return f"{who}: {_move_summary(payload, currency)}"
    words = _EVENTS.get(E(type), type) if type in E.values else type
    if type == E.REFUND_FAILED and payload.get("returned"):
        words = "the refund to the buyer was sent, then came back from the buyer's bank"
    words = words.format(
        file=file or f"file {payload.get('file_id')}",
        switch="on" if payload.get("enabled") else "off",
    )
    repeats = payload.get("repeats")
    if type == E.PREVIEW_VIEWED and isinstance(repeats, int):
        words += f" {repeats} more time{'s' if repeats != 1 else ''}"
    said = payload.get(_QUOTED.get(E(type), "")) if type in E.values else None
    if isinstance(said, str) and said.strip():
        words += f": {quoted(said)}"
    return f"{who}: {words}"


def _move_summary(payload: dict, currency: str) -> str:
    action = str(payload.get("action", ""))
    parts = [_MOVES[A(action)] if action in A.values else action]
    if action == A.DECIDE:
        refunded = payload.get("refunded", payload.get("refund"))
        parts.append(f"{payload.get('outcome')}, {_money(refunded, currency)} back to the buyer")
    elif action == A.REQUEST_CANCELLATION:
        parts.append(f"refund {_money(payload.get('refund'), currency)}")
    elif action == A.SETTLE_CANCELLATION:
        parts.append(str(payload.get("outcome", "")))
    if payload.get("on_behalf_of"):
        parts.append(f"for the {payload['on_behalf_of']}")
    text = payload.get("rationale") or payload.get("reason") or payload.get("message")
    if isinstance(text, str) and text.strip():
        parts.append(quoted(text))
    # Support's rationale for a move it made for a party or the provider.
    if isinstance(payload.get("text"), str) and payload["text"].strip():
        parts.append("why: " + quoted(payload["text"]))
    return ", ".join(parts) + f" ({payload.get('from')} → {payload.get('to')})"


def _money(amount: object, currency: str) -> str:
    return format_amount(amount, currency) if isinstance(amount, int) else "?"
