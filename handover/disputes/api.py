from datetime import datetime

from ninja import Query, Router, Schema
from pydantic import StrictInt

from handover.api.pagination import PageParams, page
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide
from handover.lib.errors import PermissionDenied

router = Router()


class DisputeOut(Schema):
    id: int
    order_id: int
    order_state: str
    opened_by_role: str
    reason: str
    opened_at: datetime
    age_seconds: int
    total: int
    currency: str
    decided_at: datetime | None
    outcome: str
    refund: int | None
    rationale: str


class DisputePage(Schema):
    items: list[DisputeOut]
    count: int


class DecisionIn(Schema):
    outcome: str
    refund: StrictInt | None = None
    rationale: str


def _out(dispute: Dispute, now: datetime) -> dict:
    return {
        "id": dispute.pk,
        "order_id": dispute.order_id,
        "order_state": dispute.order.state,
        "opened_by_role": dispute.opened_by_role,
        "reason": dispute.reason,
        "opened_at": dispute.opened_at,
        "age_seconds": int((now - dispute.opened_at).total_seconds()),
        "total": dispute.order.total,
        "currency": dispute.order.currency,
        "decided_at": dispute.decided_at,
        "outcome": dispute.outcome,
        "refund": dispute.refund,
        "rationale": dispute.rationale,
    }


def _require_support(request) -> None:
    if not request.auth.is_support:
        raise PermissionDenied("The dispute desk is for support agents.")


@router.get("", response=DisputePage)
def list_disputes(request, params: Query[PageParams], decided: bool = False):
    """The dispute queue, oldest first (support only)."""
    from django.utils import timezone

    _require_support(request)
    disputes = Dispute.objects.select_related("order").filter(decided_at__isnull=not decided)
    now = timezone.now()
    return page(disputes.order_by("opened_at", "id"), params, lambda d: _out(d, now))


@router.get("/{dispute_id}", response=DisputeOut)
def get_dispute(request, dispute_id: int):
    from django.shortcuts import get_object_or_404
    from django.utils import timezone

    _require_support(request)
    return _out(
        get_object_or_404(Dispute.objects.select_related("order"), pk=dispute_id), timezone.now()
    )


@router.post("/{dispute_id}/decision", response=DisputeOut)
def decide(request, dispute_id: int, payload: DecisionIn):
    from django.utils import timezone

    _require_support(request)
    dispute_decide(
        dispute_id=dispute_id,
        user=request.auth,
        outcome=payload.outcome,
        refund=payload.refund,
        rationale=payload.rationale,
    )
    return _out(Dispute.objects.select_related("order").get(pk=dispute_id), timezone.now())
