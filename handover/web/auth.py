from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout for the sign-in pages (the web's and the admin's).

    Sign-ins from the network (the pages and the API's token exchange) pass their request.
    Callers without one (management commands, the test client's ``login``) are not
    reachable from outside and go straight to the model backend; axes would raise.
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
        return super().authenticate(request, username, password, **kwargs)
