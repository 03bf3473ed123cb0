"""The one base for domain errors; the API maps each to a status code and a JSON error."""

from typing import ClassVar


class HandoverError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code  # type: ignore[misc]


class InvalidInput(HandoverError):
    status = 400
    code = "invalid"


class Unprocessable(HandoverError):
    status = 422
    code = "validation_error"


class NotAuthenticated(HandoverError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(HandoverError):
    status = 403
    code = "forbidden"


class NotFound(HandoverError):
    status = 404
    code = "not_found"


class TooManyRequests(HandoverError):
    status = 429
    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None):
        super().__init__(detail, code=code)
        self.retry_after = retry_after  # seconds, for the Retry-After header


class Conflict(HandoverError):
    status = 409
    code = "conflict"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class ProviderUnavailable(HandoverError):
    """The payment provider did not answer; nothing changed, and asking again may work."""

    status = 503
    code = "provider_unavailable"
