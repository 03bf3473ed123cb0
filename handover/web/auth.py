from collections.abc import Callable
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from handover.accounts.lockout import login_address_wait
from handover.accounts.models import User
from handover.trust.rules import SUSPENDED_DETAIL, AccountSuspended
from handover.trust.selectors import user_standing, user_suspended
from handover.trust.services import warnings_take_unseen


class LoginThrottleBackend(AxesStandaloneBackend):
    """The sign-in throttles (accounts.lockout) for every sign-in from the network: the web's
    and the admin's log-in pages and the API's token exchange, which pass their request.

    It comes first in AUTHENTICATION_BACKENDS, so a refused sign-in never reaches the model
    backend and its password hashing. Callers without a request (management commands, the
    test client's ``login``) are not reachable from outside and go straight there; axes
    would raise.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        wait = login_address_wait(request)
        if wait:
            request.login_address_wait = wait  # type: ignore[attr-defined]
            # AxesMiddleware then answers with accounts.lockout.lockout_response.
            request.axes_locked_out = True  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed sign-ins from this address.")
        return super().authenticate(request, username, password, **kwargs)


class SuspensionCheckBackend(ModelBackend):
    """Django's username and password check, which then refuses a suspended account with its
    own error (``AccountSuspended``, 403 ``account_suspended`` in the API, a sentence on the
    web's log-in form) rather than "wrong password": the user learns why, and their right
    password counts as no failed sign-in.

    ``ModelBackend`` stays in AUTHENTICATION_BACKENDS after this one for the sessions it
    signed in (and the sign-up page's own log-in); a wrong password ends the search here
    (``PermissionDenied``: Django then reports the failure as usual), so no later backend
    hashes it a second time."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if password is None:
            return None
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            raise PermissionDenied("Wrong username or password.")
        if user_suspended(user.pk):
            raise AccountSuspended(SUSPENDED_DETAIL)
        return user


SESSION_ENDED = (
    "You are logged out: support has suspended your account. "
    "Write to support if you think this is a mistake."
)


class AccountStandingMiddleware:
    """On each page a signed-in user opens: a suspended user's session ends there (logged
    out, told why); a warning from support that waits for them is shown, once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # The API answers bearer tokens, checked by its own auth (api.auth.api_user_admit).
        if user is None or not user.is_authenticated or request.path.startswith("/api/"):
            return self.get_response(request)
        suspended, warned = user_standing(user.pk)
        # An htmx request swaps its answer into part of a page: it is sent to the log-in page
        # as a whole, and leaves the warnings for a page that shows its messages.
        partial = request.headers.get("HX-Request") == "true"
        if suspended:
            logout(request)
            messages.error(request, SESSION_ENDED)
            return (
                HttpResponseClientRedirect(reverse("web:login"))
                if partial
                else redirect("web:login")
            )
        if warned and request.method == "GET" and not partial:
            for warning in warnings_take_unseen(user=user):
                messages.warning(request, f"A warning from support: {warning.text}")
        return self.get_response(request)
