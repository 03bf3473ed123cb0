"""The support desk: the dispute queue, one dispute's evidence, internal notes and the
decision. For support agents only; anyone else is told the pages do not exist (404).

Each view reads with the selectors the API's dispute endpoints read with
(``disputes_with_orders``, ``dispute_flags``, ``dispute_timeline``; the rows as the API's
``DisputeOut``) and writes with the service its endpoint calls."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from handover.delivery.selectors import requirements_delivered
from handover.disputes.models import Dispute
from handover.disputes.selectors import (
    dispute_flags,
    dispute_summary,
    dispute_timeline,
    dispute_visible,
    disputes_with_orders,
    response_target,
)
from handover.disputes.services import dispute_decide, support_note_add
from handover.evidence.models import EventType
from handover.lib.errors import HandoverError, InvalidInput, NotFound
from handover.orders.rules import Actor
from handover.web.display import countdown
from handover.web.http import WebRequest
from handover.web.support_forms import DecisionForm, NoteForm
from handover.web.timeline import timeline_days

QUEUE_PER_PAGE = 25

# Which field a refusal of ``dispute_decide`` is about, by its error code.
_DECISION_FIELDS = {"bad_refund": "refund", "bad_outcome": "outcome"}


def support_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in support agents only; for anyone else the page does not exist."""

    @wraps(view)
    def checked(request: WebRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_support:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return login_required(checked)


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    dispute: Dispute
    out: dict[str, Any]  # as the API's DisputeOut
    age: str
    due: str


def _queue_row(dispute: Dispute, out: dict[str, Any], now: datetime) -> QueueRow:
    age = countdown(timedelta(seconds=out["age_seconds"]))
    if out["decided_at"] is not None:
        due = f"Decided {out['decided_at']:%d %b %Y, %H:%M}"
    elif out["overdue"]:
        due = f"Overdue by {countdown(now - out['due_at'])}"
    else:
        due = f"Due in {countdown(out['due_at'] - now)}"
    return QueueRow(dispute, out, age, due)


@support_only
@require_GET
def dispute_queue(request: WebRequest) -> HttpResponse:
    """Open disputes oldest first (``?decided=1``: the decided ones), as ``GET /disputes``."""
    decided = request.GET.get("decided") == "1"
    queue = (
        disputes_with_orders().filter(decided_at__isnull=not decided).select_related("order__offer")
    )
    page = Paginator(queue, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    disputes = list(page.object_list)
    now = timezone.now()
    flags = dispute_flags(disputes, now=now)
    rows = [_queue_row(d, dispute_summary(d, now, flags[d.pk]), now) for d in disputes]
    context = {
        "rows": rows,
        "page": page,
        "decided": decided,
        "target": countdown(response_target()),
    }
    return render(request, "web/support/queue.html", context)


# --- one dispute -----------------------------------------------------------------------------


def _dispute(request: WebRequest, dispute_id: int) -> tuple[Dispute, Actor]:
    try:
        return dispute_visible(dispute_id=dispute_id, user=request.user)
    except NotFound:
        raise Http404("No such dispute.") from None


def _back(dispute: Dispute, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:dispute", args=[dispute.pk]) + anchor)


def _file_access(item: Any) -> bool:
    return item.kind in ("download", "preview") or (
        item.data.get("type") == EventType.ORIGINAL_REFUSED
    )


def _dispute_page(
    request: WebRequest,
    dispute: Dispute,
    role: Actor,
    *,
    note_form: NoteForm | None = None,
    decision_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    order = dispute.order
    out = dispute_summary(dispute, now, dispute_flags([dispute], now=now)[dispute.pk])
    # Support's notes only to support: an agent who is a party here reads it as a party.
    items = dispute_timeline(dispute, with_notes=role == Actor.SUPPORT)
    # As the API's GET /orders/{id}/deliveries reads them.
    deliveries = list(order.deliveries.prefetch_related("files__preview_parts", "checklist__files"))
    context = {
        "dispute": dispute,
        "out": out,
        "row": _queue_row(dispute, out, now),
        "order": order,
        "role": role,
        "days": timeline_days(items, timezone.get_current_timezone(), currency=order.currency),
        "requirements": requirements_delivered(order, deliveries),
        "deliveries": deliveries,
        "accesses": [item for item in items if _file_access(item)],
        "notes": [item for item in items if item.kind == "note"],
        "note_form": note_form or NoteForm(),
        "decision_form": decision_form or DecisionForm(order=order),
        "target": countdown(response_target()),
    }
    return render(request, "web/support/dispute.html", context, status=status)


@support_only
@require_GET
def dispute_detail(request: WebRequest, dispute_id: int) -> HttpResponse:
    dispute, role = _dispute(request, dispute_id)
    return _dispute_page(request, dispute, role)


@support_only
@require_POST
def dispute_note(request: WebRequest, dispute_id: int) -> HttpResponse:
    """Add an internal note, as ``POST /disputes/{id}/notes``."""
    dispute, role = _dispute(request, dispute_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            support_note_add(
                dispute_id=dispute.pk, user=request.user, text=form.cleaned_data["text"]
            )
        except InvalidInput as error:
            form.add_error("text", error.detail)
        except HandoverError as error:
            messages.error(request, error.detail)
            return _back(dispute, "#notes")
        else:
            messages.success(request, "Note added. Only support can read it.")
            return _back(dispute, "#notes")
    return _dispute_page(request, dispute, role, note_form=form, status=422)


@support_only
@require_POST
def dispute_decide_page(request: WebRequest, dispute_id: int) -> HttpResponse:
    """The decision form's answer: its errors beside the fields, else the confirmation page
    with the money each side gets; once confirmed, ``POST /disputes/{id}/decision``."""
    dispute, role = _dispute(request, dispute_id)
    if dispute.decided_at is not None:
        messages.error(request, "This dispute is decided already.")
        return _back(dispute)
    order = dispute.order
    form = DecisionForm(request.POST, order=order)
    if not form.is_valid():
        return _dispute_page(request, dispute, role, decision_form=form, status=422)
    if "change" in request.POST:
        again = DecisionForm(initial=form.confirmed_fields(), order=order)
        return _dispute_page(request, dispute, role, decision_form=again)
    if request.POST.get("confirm") != "yes":
        return _confirm_page(request, dispute, form)
    return _decide(request, dispute, role, form)


def _confirm_page(request: WebRequest, dispute: Dispute, form: DecisionForm) -> HttpResponse:
    """What the decision does, money and all, and the same decision again to confirm it."""
    context = {
        "dispute": dispute,
        "order": dispute.order,
        "money": form.money,
        "decision": form.cleaned_data,
        "fields": form.confirmed_fields(),
    }
    return render(request, "web/support/confirm_decision.html", context)


def _decide(request: WebRequest, dispute: Dispute, role: Actor, form: DecisionForm) -> HttpResponse:
    data = form.cleaned_data
    try:
        dispute_decide(
            dispute_id=dispute.pk,
            user=request.user,
            outcome=data["outcome"],
            refund=data["refund"],
            text=data["text"],
        )
    except InvalidInput as error:
        form.add_error(_DECISION_FIELDS.get(error.code, "text"), error.detail)
        return _dispute_page(request, dispute, role, decision_form=form, status=422)
    except HandoverError as error:
        messages.error(request, error.detail)
        return _back(dispute)
    messages.success(request, "Dispute decided. Both parties are told the outcome and why.")
    return _back(dispute)
