"""What a locked-out sign-in gets from django-axes: the API's JSON error, or the web's page."""

from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT = 429


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    if request.path.startswith("/api/"):
        wait = f"in {minutes} minutes" if minutes else "later"
        answer = JsonResponse(
            {
                "error": "locked_out",
                "detail": f"Too many failed sign-ins for this name from here: try again {wait}.",
            },
            status=LOCKED_OUT,
        )
        if cool_off:
            answer["Retry-After"] = str(int(cool_off.total_seconds()))
        return answer
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_timedelta": cool_off,
    }
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=LOCKED_OUT)
