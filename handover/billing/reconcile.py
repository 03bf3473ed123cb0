"""Reconciliation: the ledger's movements of money against the provider's charges, refunds,
transfers and disputes, and every difference between them.

Each ledger transaction that moved money through Stripe keeps Stripe's id of that money in
``reference`` (``pi_`` on capture, ``re_`` on a refund, ``tr_`` on a payout, ``dp_`` on a
chargeback). ``SOURCES`` says, for each such transaction kind, which of Stripe's lists holds
the other side and how to read one of its objects; adding a kind is one entry there.

Both sides are matched on that id. What a window (``since``) lists on one side is looked up on
the other side whatever its date, so money moved across the window's edge never shows as a
difference. Only Handover's money is compared: PaymentIntents that carry
``metadata.handover_order``, and the refunds and disputes of those or of the ledger's captures
(an account may take other payments too).
"""

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import stripe
from django.conf import settings
from django.db.models import Q

from handover.ledger.models import AccountKind, Entry, LedgerTransaction, TransactionKind
from handover.lib.money import format_amount
from handover.payments.stripe_client import stripe_client

logger = logging.getLogger(__name__)

PAGE = 100  # objects per list request, Stripe's largest page

# What the ledger holds for money it recorded as moved; a reversal kind turns it to REVERSED.
SUCCEEDED = "succeeded"
REVERSED = "reversed"


@dataclass(frozen=True)
class Movement:
    """One movement of money as one side sees it."""

    kind: str  # the ledger transaction kind it belongs to
    reference: str  # the provider's id
    amount: int  # minor units, as Handover counts them
    currency: str
    status: str  # SUCCEEDED, REVERSED, or the provider's own word for what did not settle
    order_id: int | None = None


Ours = dict[str, int | None]  # Handover's PaymentIntents: id -> the order it paid


@dataclass(frozen=True)
class Source:
    """Where the provider lists the money of one ledger transaction kind, and how to read it."""

    kind: str
    prefix: str  # the provider's ids of this kind start with it
    objects: Callable[[stripe.StripeClient], Any]  # the SDK's service: .list() and .retrieve()
    read: Callable[[dict[str, Any]], Movement]
    # Handover's objects only: True for one of ours, given the PaymentIntents known to be ours.
    ours: Callable[[dict[str, Any], Ours], bool]
    reversal_kind: str | None = None  # a ledger kind that undoes this one (same reference)
    # The provider's words for an object whose money came back (or never left): it nets to
    # nothing, as a ledger posting and its reversal do, so the two agree.
    nets_to_nothing: frozenset[str] = frozenset()


def _order_of(obj: dict[str, Any]) -> int | None:
    value = (obj.get("metadata") or {}).get("handover_order")
    return int(value) if value and str(value).isdigit() else None


def _movement(kind: str, obj: dict[str, Any], status: str, order_id: int | None = None) -> Movement:
    # Stripe counts amounts in the same minor units as Handover (``stripe_amount`` sends them
    # as they are), in lower-case currency codes.
    return Movement(
        kind=kind,
        reference=obj["id"],
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        status=status,
        order_id=order_id if order_id is not None else _order_of(obj),
    )


def _charge(obj: dict[str, Any]) -> Movement:
    return _movement(TransactionKind.CAPTURE, obj, obj["status"])


def _refund(obj: dict[str, Any]) -> Movement:
    return _movement(TransactionKind.REFUND, obj, obj["status"])


def _transfer(obj: dict[str, Any]) -> Movement:
    status = REVERSED if obj.get("reversed") else SUCCEEDED
    group = str(obj.get("transfer_group") or "")
    order_id = _order_of(obj)
    if order_id is None and group.removeprefix("order-").isdigit():
        order_id = int(group.removeprefix("order-"))
    return _movement(TransactionKind.PAYOUT, obj, status, order_id)


def _dispute(obj: dict[str, Any]) -> Movement:
    # Stripe takes a disputed amount back when the dispute opens and returns it if it is won.
    status = REVERSED if obj["status"] == "won" else SUCCEEDED
    return _movement(TransactionKind.CHARGEBACK, obj, status)


def _of_our_payment(obj: dict[str, Any], ours: Ours) -> bool:
    return _order_of(obj) is not None or obj.get("payment_intent") in ours


def _transfer_ours(obj: dict[str, Any], ours: Ours) -> bool:
    return _order_of(obj) is not None or bool(obj.get("transfer_group"))


CAPTURES = Source(
    TransactionKind.CAPTURE,
    "pi_",
    lambda client: client.v1.payment_intents,
    _charge,
    lambda obj, ours: _order_of(obj) is not None,
)
SOURCES: tuple[Source, ...] = (
    CAPTURES,
    # Posted (refunding -> world) when Stripe confirms a refund; taken back (``refund_returned``,
    # same reference) when it fails after that. A failed refund at Stripe and a refund with its
    # return in the ledger both net to nothing.
    Source(
        TransactionKind.REFUND,
        "re_",
        lambda client: client.v1.refunds,
        _refund,
        _of_our_payment,
        reversal_kind=TransactionKind.REFUND_RETURNED,
        nets_to_nothing=frozenset({"failed", "canceled"}),
    ),
    Source(
        TransactionKind.PAYOUT,
        "tr_",
        lambda client: client.v1.transfers,
        _transfer,
        _transfer_ours,
    ),
    # A won dispute's money comes back in a chargeback reversal, with the dispute's id as its
    # reference.
    Source(
        TransactionKind.CHARGEBACK,
        "dp_",
        lambda client: client.v1.disputes,
        _dispute,
        _of_our_payment,
        reversal_kind=TransactionKind.CHARGEBACK_REVERSAL,
    ),
)


class Problem(StrEnum):
    MISSING_IN_LEDGER = "missing in the ledger"
    MISSING_AT_PROVIDER = "missing at the provider"
    AMOUNT = "amount differs"
    CURRENCY = "currency differs"
    STATUS = "status differs"
    DUPLICATE = "recorded twice in the ledger"


@dataclass(frozen=True)
class Difference:
    problem: Problem
    kind: str
    reference: str
    order_id: int | None
    ledger: Movement | None
    provider: Movement | None

    def line(self) -> str:
        order = f" of order {self.order_id}" if self.order_id is not None else ""
        sides = [
            f"{name} {_shown(side)}"
            for name, side in (("ledger", self.ledger), ("provider", self.provider))
            if side is not None
        ]
        return f"{self.problem}: {self.kind} {self.reference}{order}: " + ", ".join(sides)

    def as_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem.name.lower(),
            "kind": self.kind,
            "reference": self.reference,
            "order_id": self.order_id,
            "ledger": asdict(self.ledger) if self.ledger else None,
            "provider": asdict(self.provider) if self.provider else None,
        }


def _shown(side: Movement) -> str:
    return f"{format_amount(side.amount, side.currency)} ({side.status})"


@dataclass
class Reconciliation:
    provider: str
    compared: dict[str, int] = field(default_factory=dict)  # kind -> references compared
    differences: list[Difference] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return self.provider == "stripe"

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "compared": self.compared,
            "differences": [d.as_json() for d in self.differences],
        }


def reconcile(*, since: datetime | None = None) -> Reconciliation:
    """Every difference between the ledger and the provider (since ``since``, or ever)."""
    result = Reconciliation(provider=settings.HANDOVER_PAYMENT_PROVIDER)
    if not result.supported:
        return result  # test and manual providers hold no money to compare with
    client = stripe_client()
    intents = list(_listed(client, CAPTURES, since))  # listed once: they say what is ours
    ours = _our_payment_intents(intents)
    for source in SOURCES:
        listed = intents if source is CAPTURES else _listed(client, source, since)
        compared, differences = _reconcile_kind(client, source, listed, since, ours)
        result.compared[source.kind] = compared
        result.differences += differences
    return result


def _our_payment_intents(intents: list[dict[str, Any]]) -> Ours:
    captured = LedgerTransaction.objects.filter(
        kind=TransactionKind.CAPTURE, reference__startswith="pi_"
    )
    ours: Ours = dict(captured.values_list("reference", "order_id"))
    for obj in intents:
        if (order_id := _order_of(obj)) is not None:
            ours.setdefault(obj["id"], order_id)
    return ours


def _listed(
    client: stripe.StripeClient, source: Source, since: datetime | None
) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"limit": PAGE}
    if since is not None:
        # Stripe's times are whole seconds: the first of them at or after ``since``.
        params["created"] = {"gte": math.ceil(since.timestamp())}
    for obj in source.objects(client).list(params=params).auto_paging_iter():
        yield obj.to_dict()


def _reconcile_kind(
    client: stripe.StripeClient,
    source: Source,
    listed: Iterable[dict[str, Any]],
    since: datetime | None,
    ours: Ours,
) -> tuple[int, list[Difference]]:
    provider = {
        obj["id"]: _with_order(source.read(obj), obj, ours)
        for obj in listed
        if source.ours(obj, ours)
    }
    ledger, duplicates = _ledger_side(source, since)
    # What one side's window holds is looked up on the other side whatever its date.
    ledger |= _ledger_side(source, None, references=set(provider) - set(ledger))[0]
    for reference in set(ledger) - set(provider):
        found = _retrieve(client, source, reference)
        if found is not None:
            provider[reference] = found
    differences = [
        Difference(Problem.DUPLICATE, source.kind, ref, ledger[ref].order_id, ledger[ref], None)
        for ref in sorted(duplicates)
    ]
    for reference in sorted(set(ledger) | set(provider)):
        difference = _compare(source, reference, ledger.get(reference), provider.get(reference))
        if difference is not None:
            differences.append(difference)
    return len(set(ledger) | set(provider)), differences


def _with_order(movement: Movement, obj: dict[str, Any], ours: Ours) -> Movement:
    """A refund or dispute names its payment, not the order: the order that payment paid."""
    if movement.order_id is None and obj.get("payment_intent") in ours:
        return replace(movement, order_id=ours[obj["payment_intent"]])
    return movement


def _retrieve(client: stripe.StripeClient, source: Source, reference: str) -> Movement | None:
    try:
        obj = source.objects(client).retrieve(reference)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise
    return source.read(obj.to_dict())


def _ledger_side(
    source: Source, since: datetime | None, references: set[str] | None = None
) -> tuple[dict[str, Movement], set[str]]:
    """The ledger's movements of ``source.kind`` by reference, and the references posted twice."""
    if references is not None and not references:
        return {}, set()
    rows = LedgerTransaction.objects.filter(kind=source.kind, reference__startswith=source.prefix)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if references is not None:
        rows = rows.filter(reference__in=references)
    txns = list(rows.values("pk", "reference", "currency", "order_id"))
    amounts = _world_amounts([t["pk"] for t in txns])
    reversed_refs = _reversed(source, {t["reference"] for t in txns})
    found: dict[str, Movement] = {}
    duplicates: set[str] = set()
    for txn in txns:
        reference = txn["reference"]
        if reference in found:
            duplicates.add(reference)
            continue
        found[reference] = Movement(
            kind=source.kind,
            reference=reference,
            amount=amounts.get(txn["pk"], 0),
            currency=txn["currency"],
            status=REVERSED if reference in reversed_refs else SUCCEEDED,
            order_id=txn["order_id"],
        )
    return found, duplicates


def _world_amounts(txn_ids: list[int]) -> dict[int, int]:
    """Each transaction's money across the boundary: what its ``world`` leg moved."""
    legs = Entry.objects.filter(
        transaction_id__in=txn_ids, account__kind=AccountKind.WORLD
    ).values_list("transaction_id", "amount")
    amounts: dict[int, int] = defaultdict(int)
    for txn_id, amount in legs:
        amounts[txn_id] += amount
    return {txn_id: abs(amount) for txn_id, amount in amounts.items()}


def _reversed(source: Source, references: set[str]) -> set[str]:
    if source.reversal_kind is None or not references:
        return set()
    return set(
        LedgerTransaction.objects.filter(
            Q(kind=source.reversal_kind), Q(reference__in=references)
        ).values_list("reference", flat=True)
    )


def _compare(
    source: Source, reference: str, ledger: Movement | None, provider: Movement | None
) -> Difference | None:
    order_id = next((s.order_id for s in (ledger, provider) if s and s.order_id), None)

    def differs(problem: Problem) -> Difference:
        return Difference(problem, source.kind, reference, order_id, ledger, provider)

    if ledger is None:
        assert provider is not None
        # Money the provider has not moved (a payment still open, a refund in flight or
        # failed) is not the ledger's yet.
        return (
            differs(Problem.MISSING_IN_LEDGER) if provider.status in (SUCCEEDED, REVERSED) else None
        )
    if provider is None:
        return differs(Problem.MISSING_AT_PROVIDER)
    if ledger.currency != provider.currency:
        return differs(Problem.CURRENCY)
    if ledger.amount != provider.amount:
        return differs(Problem.AMOUNT)
    if ledger.status == REVERSED and provider.status in source.nets_to_nothing:
        return None  # both net to nothing: moved and taken back here, failed there
    if ledger.status != provider.status:
        return differs(Problem.STATUS)
    return None


def reconcile_report(result: Reconciliation) -> list[str]:
    """The result as lines for people: each difference, then the count."""
    if not result.supported:
        provider = result.provider
        return [
            f"Payment provider {provider!r} holds no money to compare with: nothing to reconcile."
        ]
    lines = [d.line() for d in result.differences]
    compared = ", ".join(f"{count} {kind}" for kind, count in result.compared.items())
    count = len(result.differences)
    lines.append(f"{count} difference{'' if count == 1 else 's'} ({compared} compared)")
    return lines
