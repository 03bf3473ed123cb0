"""Sign-in throttles, and what a refused sign-in gets (the API's JSON error, or the web's page).

Two throttles, both checked before any password is hashed:
- django-axes locks one name out at one address after repeated failures;
- an address that failed too many sign-ins, over all names, is refused outright for the rest
  of the window. Unknown names never lock (there is no account to protect), yet each costs a
  full hash, as Django equalises the time a wrong name and a wrong password take; this count
  is what bounds that work.
"""

import hashlib
import math
import time
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_ip_address, get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT = 429


def _address_counter(request: HttpRequest) -> tuple[str, float]:
    """The cache key counting this address's failures in the current window (windows are
    fixed, so the key changes with each), and when the window ends."""
    span = settings.HANDOVER_LOGIN_ADDRESS_WINDOW.total_seconds()
    index = int(time.time() // span)
    return f"login-failures:{index}:{get_client_ip_address(request)}", (index + 1) * span


def login_address_wait(request: HttpRequest) -> int:
    """Seconds until the request's address may sign in again; 0 while under its limit."""
    key, ends = _address_counter(request)
    if cache.get(key, 0) < settings.HANDOVER_LOGIN_ADDRESS_LIMIT:
        return 0
    return max(1, math.ceil(ends - time.time()))


def login_address_failed(
    sender: Any, credentials: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Count a failed sign-in against its address (``user_login_failed``, any name)."""
    if request is None:
        return  # not from the network: a command, a test client's login()
    key, ends = _address_counter(request)
    # Kept a little past its window, then the cache drops it.
    cache.add(key, 0, timeout=math.ceil(ends - time.time()) + 60)
    try:
        cache.incr(key)
    except ValueError:  # evicted between the two calls
        cache.add(key, 1)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the answer to a sign-in either throttle refused."""
    address_wait = getattr(request, "login_address_wait", 0)
    cool_off = timedelta(seconds=address_wait) if address_wait else get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    if request.path.startswith("/api/"):
        answer: HttpResponse = _api_answer(seconds, by_address=bool(address_wait))
    else:
        context = {
            "failure_limit": get_failure_limit(request, credentials),
            "username": get_client_username(request, credentials) or "",
            "by_address": bool(address_wait),
            "cooloff_timedelta": cool_off,
        }
        answer = render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=LOCKED_OUT)
    if seconds:
        answer["Retry-After"] = str(seconds)
    return answer


def _api_answer(seconds: int, *, by_address: bool) -> JsonResponse:
    minutes = max(1, round(seconds / 60)) if seconds else None
    wait = f"in {minutes} minutes" if minutes else "later"
    if by_address:
        error, who = "address_locked_out", "from here"
    else:
        error, who = "locked_out", "for this name from here"
    detail = f"Too many failed sign-ins {who}: try again {wait}."
    return JsonResponse({"error": error, "detail": detail}, status=LOCKED_OUT)


# A password-reset mail goes to whatever address the form is given: without a bound, anyone
# could make the site flood a stranger's inbox. The page answers the same either way.
RESET_MAILS_PER_ADDRESS = 3
RESET_MAIL_WINDOW = 3600  # seconds


def reset_mail_allowed(email: str) -> bool:
    """Count a reset mail to ``email`` (any case); False past the limit for the window."""
    key = "password-reset-mails:" + hashlib.sha256(email.casefold().encode()).hexdigest()
    cache.add(key, 0, timeout=RESET_MAIL_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between the two calls
        cache.add(key, 1, timeout=RESET_MAIL_WINDOW)
        count = 1
    return count <= RESET_MAILS_PER_ADDRESS
