"""Automatic flags on a dispute: pure rules over the facts one selector reads
(``selectors.dispute_facts``). Each flag says in a sentence why it was raised."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from handover.disputes.rules import contacts_in, span, when
from handover.orders.rules import Action, Actor


class FlagCode(StrEnum):
    ORIGINALS_THEN_EXIT = "originals_then_exit"
    CHANGED_AFTER_START = "changed_after_start"
    LATE_DELIVERY = "late_delivery"
    PARTY_SILENT = "party_silent"
    CONTACT_SHARED = "contact_shared"


class Kind(StrEnum):
    """What a party did, as far as the flags care."""

    MESSAGE = "message"
    DOWNLOAD = "download"  # an original, not a preview
    ANSWERS_CHANGED = "answers_changed"
    MOVE = "move"  # a transition of the order; ``action`` says which
    OTHER = "other"  # any other act (a revision granted, originals released early, ...)


@dataclass(frozen=True)
class Act:
    at: datetime
    role: str  # buyer, seller, support, timer, provider
    kind: Kind
    action: str = ""  # for a move: the Action
    text: str = ""  # what the party wrote: a message, a reason
    file: str = ""  # for a download: the file's name


@dataclass(frozen=True)
class TermsVersion:
    version: int
    created_at: datetime


@dataclass(frozen=True)
class DisputeFacts:
    """What the flags need to know about one dispute and its order, read in one go."""

    opened_at: datetime
    until: datetime  # now, or when the dispute was decided
    paid_at: datetime | None
    due_at: datetime | None
    first_delivery_at: datetime | None
    terms_version: int  # the order's
    offer_terms: tuple[TermsVersion, ...]  # every version of the offer's terms
    acts: tuple[Act, ...]  # in time order, up to ``until``
    silence_window: timedelta


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    reason: str


PARTIES = (Actor.BUYER, Actor.SELLER)
# Moves by which one party asks something of the other, and what they are called.
_REQUESTS = {
    Action.REQUEST_CANCELLATION: "cancellation request",
    Action.REQUEST_REVISION: "revision request",
    Action.DECLINE_CANCELLATION: "refusal to cancel",
    Action.OPEN_DISPUTE: "dispute",
}
_EXITS = {Action.REQUEST_CANCELLATION: "asked to cancel", Action.OPEN_DISPUTE: "opened a dispute"}


def flags_raise(facts: DisputeFacts) -> list[Flag]:
    """Every flag the facts raise, in a fixed order."""
    rules = (originals_then_exit, changed_after_start, late_delivery, party_silent, contact_shared)
    return [flag for rule in rules if (flag := rule(facts)) is not None]


def originals_then_exit(facts: DisputeFacts) -> Flag | None:
    """The buyer downloaded an original, then asked to cancel or opened a dispute."""
    last_download: Act | None = None
    for act in facts.acts:
        if act.role != Actor.BUYER:
            continue
        if act.kind == Kind.DOWNLOAD:
            last_download = act
        elif act.kind == Kind.MOVE and act.action in _EXITS and last_download is not None:
            return Flag(
                FlagCode.ORIGINALS_THEN_EXIT,
                f"Buyer downloaded {last_download.file} on {when(last_download.at)}, then"
                f" {_EXITS[Action(act.action)]} {span(act.at - last_download.at)} later.",
            )
    return None


def changed_after_start(facts: DisputeFacts) -> Flag | None:
    """The requirement answers changed after payment, or the seller published new terms
    after payment while the order stays bound by the version it was placed under."""
    if facts.paid_at is None:
        return None
    paid = facts.paid_at
    reasons = []
    answers = next((a for a in facts.acts if a.kind == Kind.ANSWERS_CHANGED and a.at > paid), None)
    if answers is not None:
        reasons.append(
            f"{answers.role.capitalize()} changed the requirement answers on {when(answers.at)},"
            f" after payment on {when(paid)}."
        )
    newer = [
        t
        for t in facts.offer_terms
        if t.version > facts.terms_version and paid < t.created_at <= facts.until
    ]
    if newer:
        reasons.append(
            f"Seller published terms v{newer[-1].version} on {when(newer[-1].created_at)},"
            f" after payment on {when(paid)}; this order is bound by v{facts.terms_version}."
        )
    return Flag(FlagCode.CHANGED_AFTER_START, " ".join(reasons)) if reasons else None


def late_delivery(facts: DisputeFacts) -> Flag | None:
    """The first delivery came after the due date, or nothing came by the time of the dispute."""
    due = facts.due_at
    if due is None:
        return None
    first = facts.first_delivery_at
    if first is not None and first > due:
        return Flag(
            FlagCode.LATE_DELIVERY,
            f"First delivery on {when(first)}, {span(first - due)} after the due date"
            f" ({when(due)}).",
        )
    if first is None and facts.opened_at > due:
        return Flag(
            FlagCode.LATE_DELIVERY,
            f"Nothing was delivered by the due date ({when(due)}); the dispute was opened"
            f" {span(facts.opened_at - due)} later.",
        )
    return None


@dataclass(frozen=True)
class Silence:
    party: Actor
    since: Act  # the other party's first unanswered message or request
    length: timedelta


def silences(facts: DisputeFacts) -> list[Silence]:
    """For each party, the longest time it left the other's message or request unanswered."""
    waiting: dict[Actor, Act | None] = dict.fromkeys(PARTIES)
    longest: dict[Actor, Silence] = {}

    def close(party: Actor, at: datetime) -> None:
        since = waiting[party]
        if since is not None and (party not in longest or at - since.at > longest[party].length):
            longest[party] = Silence(party, since, at - since.at)
        waiting[party] = None

    for act in facts.acts:
        if act.role not in PARTIES or act.kind == Kind.DOWNLOAD:
            continue  # reading is not answering
        party = Actor(act.role)
        close(party, act.at)
        other = Actor.SELLER if party == Actor.BUYER else Actor.BUYER
        if _asks(act) and waiting[other] is None:
            waiting[other] = act
    for party in PARTIES:
        close(party, facts.until)
    return [longest[p] for p in PARTIES if p in longest]


def _asks(act: Act) -> bool:
    return act.kind == Kind.MESSAGE or (act.kind == Kind.MOVE and act.action in _REQUESTS)


def party_silent(facts: DisputeFacts) -> Flag | None:
    """A party left the other's message or request unanswered for longer than the window."""
    reasons = [
        f"{s.party.capitalize()} did not write or act for {span(s.length)} after the"
        f" {s.since.role}'s {_asked(s.since)} of {when(s.since.at)}."
        for s in silences(facts)
        if s.length > facts.silence_window
    ]
    return Flag(FlagCode.PARTY_SILENT, " ".join(reasons)) if reasons else None


def _asked(act: Act) -> str:
    return "message" if act.kind == Kind.MESSAGE else _REQUESTS[Action(act.action)]


def contact_shared(facts: DisputeFacts) -> Flag | None:
    """A party wrote an e-mail address, a phone number or a messenger handle or link."""
    found = [
        (act, contact)
        for act in facts.acts
        if act.role in PARTIES and act.text
        for contact in contacts_in(act.text)
    ]
    if not found:
        return None
    act, contact = found[0]
    more = f" ({len(found) - 1} more)" if len(found) > 1 else ""
    shown = contact.text if len(contact.text) <= 60 else contact.text[:59] + "…"
    return Flag(
        FlagCode.CONTACT_SHARED,
        f"{act.role.capitalize()} shared {_a(contact.kind)} on {when(act.at)}: “{shown}”{more}.",
    )


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"
