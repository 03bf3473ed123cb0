"""The reports desk: the report queue, one report with its subject's record, and support's
actions on a user's standing (mark a report handled, warn, suspend, reinstate), each with a
rationale, each an event on the record. For support agents only: anyone else gets 403.

The views read with trust's and orders' selectors and write with the service each action
has (``trust.services.report_handle``, ``user_warn``, ``user_suspend``, ``user_reinstate``)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from handover.accounts.models import User
from handover.lib.bounds import id_in_range
from handover.lib.errors import HandoverError
from handover.orders.models import Order
from handover.orders.rules import CLOSED
from handover.trust.models import Report
from handover.trust.selectors import reports_queue, user_record, user_standing_history
from handover.trust.services import report_handle, user_reinstate, user_suspend, user_warn
from handover.web.http import WebRequest
from handover.web.report_forms import (
    REPORT_STATES,
    HandleForm,
    ReinstateForm,
    StandingForm,
    SuspendForm,
    WarnForm,
)
from handover.web.views.support import support_only

REPORTS_PER_PAGE = 25
ORDERS_SHOWN = 50  # of the user's orders, newest first; their open ones are all listed

# Which field a service's refusal is about, by its error code; the rest go above the form.
_FIELDS = {"bad_rationale": "rationale", "bad_warning": "text"}


# --- the queue -------------------------------------------------------------------------------


@support_only
@require_GET
def report_list(request: WebRequest) -> HttpResponse:
    """Reports waiting for support, oldest first; ``?state=handled``: the handled ones;
    ``?state=all``: every report, the waiting ones first."""
    state = request.GET.get("state", "open")
    if state not in REPORT_STATES:
        state = "open"
    queue = reports_queue(handled={"open": False, "handled": True}.get(state))
    page = Paginator(queue, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "state": state, "states": REPORT_STATES}
    return render(request, "web/support/report_list.html", context)


# --- one report, one user --------------------------------------------------------------------


def _report(report_id: int) -> Report:
    report = (
        Report.objects.select_related("reporter", "subject", "handled_by", "order__offer")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    return report


def _subject(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    return user


def _user_context(subject: User, report: Report | None, forms: dict[str, StandingForm]) -> dict:
    """What support reads of a user, and the forms of the actions on them."""
    orders = Order.objects.filter(Q(buyer=subject) | Q(seller=subject)).select_related(
        "offer", "buyer", "seller"
    )
    initial = {"report": report.pk if report else None}
    standing = user_standing_history(subject)
    return {
        "subject": subject,
        "report": report,
        "record": user_record(subject),
        "open_orders": list(orders.exclude(state__in=CLOSED).order_by("id")),
        "orders": list(orders.order_by("-id")[:ORDERS_SHOWN]),
        "orders_shown": ORDERS_SHOWN,
        "standing": standing,
        "earlier_reports": [r for r in standing.reports if report is None or r.pk != report.pk],
        "suspension": standing.suspension,
        "handle_form": forms.get("handle") or HandleForm(initial=initial),
        "warn_form": forms.get("warn") or WarnForm(initial=initial),
        "suspend_form": forms.get("suspend") or SuspendForm(initial=initial),
        "reinstate_form": forms.get("reinstate") or ReinstateForm(initial=initial),
    }


def _page(
    request: WebRequest,
    subject: User,
    report: Report | None,
    status: int = 200,
    **forms: StandingForm,
) -> HttpResponse:
    context = _user_context(subject, report, forms)
    template = "web/support/report.html" if report else "web/support/user.html"
    return render(request, template, context, status=status)


@support_only
@require_GET
def report_detail(request: WebRequest, report_id: int) -> HttpResponse:
    report = _report(report_id)
    return _page(request, report.subject, report)


@support_only
@require_GET
def user_detail(request: WebRequest, user_id: int) -> HttpResponse:
    return _page(request, _subject(user_id), None)


def _posted_report(request: WebRequest, subject: User) -> Report | None:
    """The report the action was taken from (its page is where the agent goes back to),
    read before the form is checked so that a refused form shows on that page again."""
    raw = request.POST.get("report", "")
    if not raw:
        return None
    known = raw.isascii() and raw.isdigit() and id_in_range(int(raw))
    report = Report.objects.filter(pk=int(raw), subject=subject).first() if known else None
    if report is None:
        raise Http404("No such report about this user.")
    return _report(report.pk)


def _back(subject: User, report: Report | None) -> HttpResponse:
    if report is not None:
        return redirect(reverse("web:report", args=[report.pk]))
    return redirect(reverse("web:support_user", args=[subject.pk]))


def _refused(form: StandingForm, error: HandoverError) -> None:
    form.add_error(_FIELDS.get(error.code), error.detail)


@support_only
@require_POST
def report_handle_page(request: WebRequest, report_id: int) -> HttpResponse:
    report = _report(report_id)
    form = HandleForm(request.POST)
    if form.is_valid():
        try:
            report_handle(
                report_id=report.pk, user=request.user, rationale=form.cleaned_data["rationale"]
            )
        except HandoverError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Report #{report.pk} is marked handled.")
            return redirect("web:reports")
    return _page(request, report.subject, report, status=422, handle=form)


@support_only
@require_POST
def user_warn_page(request: WebRequest, user_id: int) -> HttpResponse:
    subject = _subject(user_id)
    report = _posted_report(request, subject)
    form = WarnForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user_warn(
                user_id=subject.pk,
                agent=request.user,
                text=data["text"],
                rationale=data["rationale"],
                report_id=report.pk if report else None,
            )
        except HandoverError as error:
            _refused(form, error)
        else:
            messages.success(request, f"{subject.username} is warned and told by e-mail.")
            return _back(subject, report)
    return _page(request, subject, report, status=422, warn=form)


@support_only
@require_POST
def user_suspend_page(request: WebRequest, user_id: int) -> HttpResponse:
    """The suspension form's answer: its errors beside the fields, else the confirmation
    page; once confirmed, ``user_suspend``."""
    subject = _subject(user_id)
    report = _posted_report(request, subject)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        return _page(request, subject, report, status=422, suspend=form)
    if request.POST.get("confirm") != "yes":
        context = {"subject": subject, "report": report, "form": form}
        return render(request, "web/support/user_confirm_suspend.html", context)
    data = form.cleaned_data
    try:
        user_suspend(
            user_id=subject.pk,
            agent=request.user,
            rationale=data["rationale"],
            report_id=report.pk if report else None,
        )
    except HandoverError as error:
        _refused(form, error)
        return _page(request, subject, report, status=422, suspend=form)
    messages.success(
        request,
        f"{subject.username} is suspended: they cannot sign in, and their offers take no orders. "
        "Settle their open orders from each order's page.",
    )
    return _back(subject, report)


@support_only
@require_POST
def user_reinstate_page(request: WebRequest, user_id: int) -> HttpResponse:
    subject = _subject(user_id)
    report = _posted_report(request, subject)
    form = ReinstateForm(request.POST)
    if form.is_valid():
        try:
            user_reinstate(
                user_id=subject.pk, agent=request.user, rationale=form.cleaned_data["rationale"]
            )
        except HandoverError as error:
            _refused(form, error)
        else:
            messages.success(request, f"{subject.username} is reinstated and told by e-mail.")
            return _back(subject, report)
    return _page(request, subject, report, status=422, reinstate=form)
