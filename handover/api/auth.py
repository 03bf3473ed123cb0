from django.http import HttpRequest
from ninja.security import HttpBearer

from handover.accounts.models import User
from handover.accounts.services import token_user
from handover.trust.rules import SUSPENDED_DETAIL, AccountSuspended
from handover.trust.selectors import user_suspended

_UNRESOLVED = object()


def request_api_user(request: HttpRequest) -> User | None:
    """The user of the request's bearer token, looked up once per request."""
    cached = getattr(request, "_handover_api_user", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached  # type: ignore[return-value]
    user = None
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        user = token_user(raw.strip())
    request._handover_api_user = user  # type: ignore[attr-defined]
    return user


def api_user_admit(user: User) -> User:
    """The token's user, unless support has suspended them: 403 ``account_suspended`` (the
    token stays valid, and works again once support reinstates them)."""
    if user_suspended(user.pk):
        raise AccountSuspended(SUSPENDED_DETAIL)
    return user


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = request_api_user(request)
        if user is not None:
            request.user = api_user_admit(user)
        return user
