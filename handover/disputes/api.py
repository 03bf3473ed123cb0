from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictInt

from handover.api.errors import refusals
from handover.api.pagination import PageRendered, Pagination
from handover.disputes.selectors import (
    dispute_flags,
    dispute_summary,
    dispute_timeline,
    dispute_visible,
    disputes_with_orders,
)
from handover.disputes.services import dispute_decide, support_note_add
from handover.lib.bounds import Id
from handover.lib.errors import NotFound, PermissionDenied

router = Router()


class FlagOut(Schema):
    code: str
    reason: str


class DisputeOut(Schema):
    id: int
    order_id: int
    order_state: str
    buyer_id: int
    buyer: str
    seller_id: int
    seller: str
    opened_by_role: str
    text: str = Field(alias="reason", description="The text of the request that opened it.")
    opened_at: datetime
    age_seconds: int
    target_seconds: int
    due_at: datetime
    overdue: bool
    flags: list[FlagOut]
    total: int
    currency: str
    decided_at: datetime | None
    outcome: str
    refund: int | None
    decision_text: str = Field(
        alias="rationale", description="The decision's text: why, as both parties are told."
    )


class DecisionIn(Schema):
    outcome: str
    refund: StrictInt | None = None
    text: str


class NoteIn(Schema):
    text: str


class NoteOut(Schema):
    id: int
    dispute_id: int
    author: str = Field(alias="author.username")
    text: str
    created_at: datetime


class TimelineItemOut(Schema):
    at: datetime
    kind: str
    actor: str | None
    role: str
    summary: str
    data: dict[str, Any]


class TimelineOut(Schema):
    dispute_id: int
    order_id: int
    items: list[TimelineItemOut]


def _require_support(request) -> None:
    if not request.auth.is_support:
        raise PermissionDenied("The dispute desk is for support agents.")


def _one(dispute_id: int) -> dict:
    dispute = disputes_with_orders().filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound("No such dispute.")
    now = timezone.now()
    return dispute_summary(dispute, now, dispute_flags([dispute], now=now)[dispute.pk])


@router.get("", response={200: list[DisputeOut], **refusals(403)})
@paginate(Pagination)
def list_disputes(request, decided: bool = False):
    """The dispute queue, oldest first, with the response target and flags (support only)."""
    _require_support(request)
    return PageRendered(disputes_with_orders().filter(decided_at__isnull=not decided), _summaries)


def _summaries(disputes: list) -> list[dict]:
    now = timezone.now()
    flags = dispute_flags(disputes, now=now)  # one pass for the page
    return [dispute_summary(d, now, flags[d.pk]) for d in disputes]


@router.get("/{dispute_id}", response={200: DisputeOut, **refusals(403)})
def get_dispute(request, dispute_id: Id):
    _require_support(request)
    return _one(dispute_id)


@router.get("/{dispute_id}/timeline", response=TimelineOut)
def timeline(request, dispute_id: Id):
    """Everything that happened on the order in time order; support's notes for support only."""
    dispute, role = dispute_visible(dispute_id=dispute_id, user=request.auth)
    items = dispute_timeline(dispute, role=role)
    return {"dispute_id": dispute.pk, "order_id": dispute.order_id, "items": items}


@router.post("/{dispute_id}/notes", response={201: NoteOut, **refusals(403)})
def add_note(request, dispute_id: Id, payload: NoteIn):
    """An internal note on the dispute (support only; the parties never see it)."""
    note = support_note_add(dispute_id=dispute_id, user=request.auth, text=payload.text)
    return Status(201, note)


@router.post("/{dispute_id}/decision", response={200: DisputeOut, **refusals(403)})
def decide(request, dispute_id: Id, payload: DecisionIn):
    _require_support(request)
    dispute_decide(
        dispute_id=dispute_id,
        user=request.auth,
        outcome=payload.outcome,
        refund=payload.refund,
        text=payload.text,
    )
    return _one(dispute_id)
