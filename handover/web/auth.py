from typing import Any

from axes.backends import AxesStandaloneBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from handover.accounts.lockout import login_address_wait


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
