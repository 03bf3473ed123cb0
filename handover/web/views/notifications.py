"""A user's notifications (the rows ``GET /notifications`` lists), "mark all read", and the
choice of which e-mails they get. ``web/urls.py`` includes this module's ``urlpatterns`` under
``notifications/`` in its ``web`` namespace."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from handover.lib.errors import InvalidInput
from handover.notifications import rules
from handover.notifications.selectors import email_choices, notifications_of, unread_count
from handover.notifications.services import email_choices_set, notifications_mark_read
from handover.web.http import WebRequest

PER_PAGE = 25


@login_required
@require_GET
def notification_list(request: WebRequest) -> HttpResponse:
    page = Paginator(notifications_of(request.user), PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "unread": unread_count(request.user)}
    return render(request, "web/notifications/list.html", context)


@login_required
@require_POST
def notifications_read(request: WebRequest) -> HttpResponse:
    marked = notifications_mark_read(user=request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked > 1 else ''} read.")
    else:
        messages.info(request, "Nothing was unread.")
    return redirect("web:notifications")


class EmailChoicesForm(forms.Form):
    email = forms.MultipleChoiceField(required=False, label="E-mails you get")

    def __init__(self, *args, staff: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kinds = rules.kinds_offered(staff=staff)
        self.fields["email"].choices = [(kind.value, kind.label) for kind in kinds]  # type: ignore[attr-defined]


@login_required
@require_http_methods(["GET", "POST"])
def notification_emails(request: WebRequest) -> HttpResponse:
    """Which kinds of e-mail the user gets; the ones about money and disputes stay on."""
    bound = request.POST if request.method == "POST" else None
    form = EmailChoicesForm(bound, staff=request.user.is_support)
    if request.method == "POST" and form.is_valid():
        try:
            email_choices_set(user=request.user, wanted=form.cleaned_data["email"])
        except InvalidInput as error:
            form.add_error("email", error.detail)
        else:
            messages.success(request, "Saved: you get the e-mails ticked below.")
            return redirect("web:notification_emails")
    context = {"form": form, "choices": email_choices(request.user)}
    return render(
        request, "web/notifications/emails.html", context, status=422 if form.errors else 200
    )


urlpatterns = [
    path("", notification_list, name="notifications"),
    path("read/", notifications_read, name="notifications_read"),
    path("emails/", notification_emails, name="notification_emails"),
]
