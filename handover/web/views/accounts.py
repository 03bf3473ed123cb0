import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from handover.accounts.forms import EmailChangeForm, TimeZoneForm
from handover.accounts.lockout import reset_mail_allowed
from handover.accounts.rules import time_zone_valid
from handover.accounts.services import (
    email_change_confirm,
    email_change_request,
    email_verification_send,
    email_verify,
    time_zone_set,
    user_create,
)
from handover.lib.errors import HandoverError
from handover.records.account_export import account_export
from handover.web.forms import LoginForm, PasswordForm, PlainLabels, SignupForm
from handover.web.http import WebRequest

login_view = LoginView.as_view(
    template_name="web/accounts/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
logout_view = LogoutView.as_view()  # POST only


class _PasswordChange(PasswordChangeView):
    template_name = "web/accounts/password_change.html"
    form_class = PasswordForm
    success_url = reverse_lazy("web:offers")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response


password_change_view = login_required(_PasswordChange.as_view())


def _next_url(request: HttpRequest) -> str | None:
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:offers")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The browser's zone, put in a hidden field by time-zone.js; UTC without it.
        zone = request.POST.get("time_zone", "")
        try:
            user = user_create(
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                time_zone=zone if time_zone_valid(zone) else "UTC",
            )
        except HandoverError as error:
            # Another sign-up took the name (or one like it) since the form looked, or a
            # rule only the service knows.
            field = "username" if error.code.startswith("username_") else None
            form.add_error(field, error.detail)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome, {user.username}. Your account is ready: confirm your address with "
                f"the link we sent to {user.email} before your first order or offer.",
            )
            return redirect(_next_url(request) or "web:offers")
    status = 422 if form.errors else 200
    context = {"form": form, "next": _next_url(request) or ""}
    return render(request, "web/accounts/signup.html", context, status=status)


# --- password reset (Django's views; the link in the e-mail starts with HANDOVER_BASE_URL) ------


class _ResetForm(PlainLabels, PasswordResetForm):
    pass


class _SetPasswordForm(PlainLabels, SetPasswordForm):
    pass


class _PasswordReset(PasswordResetView):
    """Whatever the address, the same answer: nobody learns from it who has an account."""

    template_name = "web/accounts/password_reset.html"
    email_template_name = "web/accounts/password_reset_email.txt"
    subject_template_name = "web/accounts/password_reset_subject.txt"
    form_class = _ResetForm
    success_url = reverse_lazy("web:password_reset_done")

    def form_valid(self, form):
        if not reset_mail_allowed(form.cleaned_data["email"]):
            return redirect(self.get_success_url())  # the same answer, and no mail
        # Read when a link is sent, not when the module loads: the e-mail's link and its
        # subject name the public address the settings give.
        domain = urlsplit(settings.HANDOVER_BASE_URL).netloc
        self.extra_email_context = {
            "site_name": domain,  # over the request's host, which Django would take
            "domain": domain,
            "base_url": settings.HANDOVER_BASE_URL,
            "lifetime": _reset_lifetime(),
        }
        return super().form_valid(form)


def _reset_lifetime() -> str:
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'' if hours == 1 else 's'}"
    return f"{minutes} minutes"


class _PasswordResetDone(PasswordResetDoneView):
    template_name = "web/accounts/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "lifetime": _reset_lifetime()}


class _PasswordResetConfirm(PasswordResetConfirmView):
    """Django's view, with the link's user and token in the query (``?u=...&t=...``): a
    page's path holds only ids (lib.bounds). Django swaps a good token for "set-password"
    (kept in the session) by a redirect that rewrites the path; here it rewrites the query."""

    template_name = "web/accounts/password_reset_confirm.html"
    form_class = _SetPasswordForm
    success_url = reverse_lazy("web:password_reset_complete")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        kwargs = {"uidb64": request.GET.get("u", "")[:64], "token": request.GET.get("t", "")[:100]}
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 302 and kwargs["token"] != self.reset_url_token:
            # The good link's first visit (a finished form redirects from "set-password").
            query = urlencode({"u": kwargs["uidb64"], "t": self.reset_url_token})
            response["Location"] = f"{request.path}?{query}"
        return response


password_reset_view = _PasswordReset.as_view()
password_reset_done_view = _PasswordResetDone.as_view()
password_reset_confirm_view = _PasswordResetConfirm.as_view()
password_reset_complete_view = PasswordResetCompleteView.as_view(
    template_name="web/accounts/password_reset_complete.html"
)


# --- the account page ----------------------------------------------------------------------------


def _account_page(
    request: WebRequest,
    *,
    email_form: EmailChangeForm | None = None,
    zone_form: TimeZoneForm | None = None,
) -> HttpResponse:
    user = request.user
    context = {
        "email_form": email_form or EmailChangeForm(),
        "zone_form": zone_form or TimeZoneForm(initial={"time_zone": user.time_zone}),
    }
    status = 422 if any(f.errors for f in context.values()) else 200
    return render(request, "web/accounts/account.html", context, status=status)


@login_required
@require_GET
def account(request: WebRequest) -> HttpResponse:
    return _account_page(request)


@login_required
@require_POST
def email_change(request: WebRequest) -> HttpResponse:
    """Ask for a new address: the link goes there; the page says so, and nothing changes yet."""
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            new = email_change_request(user=request.user, new_email=form.cleaned_data["email"])
        except HandoverError as error:
            form.add_error("email", error.detail)
        else:
            messages.success(
                request,
                f"We sent a link to {new}. Your address changes when you follow it; "
                f"until then e-mails go to {request.user.email or 'nowhere'}.",
            )
            return redirect("web:account")
    return _account_page(request, email_form=form)


@login_required
@require_POST
def time_zone_change(request: WebRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        try:
            time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except HandoverError as error:
            form.add_error("time_zone", error.detail)
        else:
            messages.success(request, f"Times are now shown in {request.user.time_zone}.")
            return redirect("web:account")
    return _account_page(request, zone_form=form)


@login_required
@require_POST
def email_verification_resend(request: WebRequest) -> HttpResponse:
    user = request.user
    if user.email_verified_at is not None:
        messages.success(request, "Your address is already confirmed.")
    elif not user.email:
        messages.error(request, "Your account has no e-mail address: add one below.")
    else:
        email_verification_send(user=user)
        messages.success(request, f"We sent a new link to {user.email}.")
    return redirect(_next_url(request) or "web:account")


def _after_link(request: HttpRequest) -> HttpResponse:
    return redirect("web:account" if request.user.is_authenticated else "web:login")


@require_GET
def email_verify_link(request: HttpRequest) -> HttpResponse:
    """The link sent at sign-up (or again): it marks the address as the account's."""
    try:
        user = email_verify(token=request.GET.get("token", ""))
    except HandoverError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Thank you: {user.email} is confirmed.")
    return _after_link(request)


@require_GET
def email_change_link(request: HttpRequest) -> HttpResponse:
    """The link sent to a new address: following it puts the address in place."""
    try:
        user = email_change_confirm(token=request.GET.get("token", ""))
    except HandoverError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Your e-mail address is now {user.email}.")
    return _after_link(request)


@login_required
@require_GET
def account_data(request: WebRequest) -> HttpResponse:
    """ "Download my data": one JSON file of what the account holds and sees."""
    body, filename = account_export(user=request.user)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def verified_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that leads to a first order or offer: an unverified user is told why not, with
    the link to send the e-mail again (the services refuse them too)."""

    @functools.wraps(view)
    def wrapped(request: WebRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.email_verified_at is None:
            # A page that says what to do next (200: a browser logs a 403 as an error).
            context = {"next": request.get_full_path()}
            return render(request, "web/accounts/verify_first.html", context)
        return view(request, *args, **kwargs)

    return wrapped
