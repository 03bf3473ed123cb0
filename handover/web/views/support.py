"""The support desk: its home, the dispute queue, one dispute's evidence, internal notes, the
assignment and the decision. For support agents only; anyone else is refused (403).

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
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from handover.accounts.models import Role, User
from handover.delivery.selectors import requirements_delivered
from handover.disputes.flags import FlagCode
from handover.disputes.models import Dispute
from handover.disputes.selectors import (
    dispute_flags,
    dispute_summary,
    dispute_timeline,
    dispute_visible,
    disputes_with_orders,
    response_target,
)
from handover.disputes.services import (
    decision_refusal,
    dispute_assign,
    dispute_decide,
    support_note_add,
)
from handover.evidence.models import EventType
from handover.lib.errors import HandoverError, InvalidInput, NotFound
from handover.orders.rules import Actor
from handover.orders.selectors import cancellations_past_window, manual_payments_waiting
from handover.payments.selectors import refunds_failed
from handover.trust.selectors import reports_queue
from handover.web.display import countdown
from handover.web.http import WebRequest
from handover.web.support_forms import (
    MINE,
    UNASSIGNED,
    DecisionForm,
    NoteForm,
    QueueFilterForm,
    QueueState,
)
from handover.web.templatetags.handover_support import flag_label
from handover.web.timeline import timeline_days

QUEUE_PER_PAGE = 25

# Which field a refusal of ``dispute_decide`` is about, by its error code.
_DECISION_FIELDS = {"bad_refund": "refund", "bad_outcome": "outcome", "amount_step": "refund"}


def support_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in support agents only; anyone else is refused (403), before any lookup, so
    the answer says nothing about what exists."""

    @wraps(view)
    def checked(request: WebRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_support:
            return render(request, "web/support/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(checked)


# --- the home --------------------------------------------------------------------------------


def reports_waiting() -> int:
    """Reports no agent has handled yet (the reports' own pages list and handle them)."""
    return reports_queue(handled=False).count()


@support_only
@require_GET
def support_home(request: WebRequest) -> HttpResponse:
    """What waits for support, each count linking to the list that holds it."""
    now = timezone.now()
    open_disputes = Dispute.objects.filter(decided_at__isnull=True)
    context = {
        "overdue": open_disputes.filter(opened_at__lt=now - response_target()).count(),
        "open_disputes": open_disputes.count(),
        "mine": open_disputes.filter(assigned_to=request.user).count(),
        "payments": manual_payments_waiting().count(),
        "cancellations": cancellations_past_window(now).count(),
        "target": countdown(response_target()),
        # The reports' part of the home: web/support/_home_reports.html shows it.
        "reports_waiting": reports_waiting(),
        # The failed refunds' part: web/support/_home_refunds.html shows it.
        "refunds_failed": refunds_failed().count(),
    }
    return render(request, "web/support/home.html", context)


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


def _queue_filters(request: WebRequest) -> QueueFilterForm:
    agents = list(User.objects.filter(role__in=[Role.SUPPORT, Role.OPERATOR]).order_by("username"))
    data = request.GET.copy()
    if data.get("decided") == "1":  # the older address of the decided tab
        data["state"] = QueueState.DECIDED
    flags = [(code.value, flag_label(code)) for code in FlagCode]
    return QueueFilterForm(data, flags=flags, agents=agents)


def _queue(request: WebRequest, filters: dict[str, Any], now: datetime) -> QuerySet[Dispute]:
    state = filters.get("state") or QueueState.OPEN
    queue = disputes_with_orders().select_related("order__offer", "assigned_to")
    queue = queue.filter(decided_at__isnull=state != QueueState.DECIDED)
    if state == QueueState.OVERDUE:
        queue = queue.filter(opened_at__lt=now - response_target())
    agent = filters.get("agent")
    if agent == MINE:
        queue = queue.filter(assigned_to=request.user)
    elif agent == UNASSIGNED:
        queue = queue.filter(assigned_to__isnull=True)
    elif agent:
        queue = queue.filter(assigned_to_id=int(agent))
    return queue


@support_only
@require_GET
def dispute_queue(request: WebRequest) -> HttpResponse:
    """Open disputes oldest first, as ``GET /disputes``, narrowed by state (open, overdue,
    decided), flag and agent; a bad filter shows its error and lists nothing."""
    now = timezone.now()
    form = _queue_filters(request)
    valid = form.is_valid()
    filters = form.cleaned_data if valid else {}
    queue: QuerySet[Dispute] | list[Dispute]
    queue = _queue(request, filters, now) if valid else Dispute.objects.none()
    flag = filters.get("flag")
    if flag:
        # Flags are read from the record, not stored: the state's disputes are read to find them.
        candidates = list(queue)
        raised = dispute_flags(candidates, now=now)
        queue = [d for d in candidates if any(f.code == flag for f in raised[d.pk])]
    page = Paginator(queue, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    disputes = list(page.object_list)
    flags = dispute_flags(disputes, now=now)
    rows = [_queue_row(d, dispute_summary(d, now, flags[d.pk]), now) for d in disputes]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": rows,
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "decided": filters.get("state") == QueueState.DECIDED,
        "filtered": bool(flag or filters.get("agent")),
        "target": countdown(response_target()),
    }
    return render(request, "web/support/queue.html", context, status=200 if valid else 422)


@support_only
@require_POST
def dispute_assign_page(request: WebRequest, dispute_id: int) -> HttpResponse:
    """ "Assign to me", as the queue and the dispute page offer it; back where it was asked."""
    dispute, _role = _dispute(request, dispute_id)
    try:
        dispute_assign(dispute_id=dispute.pk, user=request.user)
    except HandoverError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Dispute #{dispute.pk} is assigned to you.")
    if request.POST.get("next") == "queue":
        return redirect(reverse("web:dispute_queue"))
    return _back(dispute)


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
    items = dispute_timeline(dispute, role=role)
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
        "decision_refusal": decision_refusal(order),
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
    if refusal := decision_refusal(order):
        messages.error(request, refusal)
        return _back(dispute)
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
