"""The client's address behind the proxies the deployment names (``HANDOVER_TRUSTED_PROXIES``).

Everything that records or counts an address reads ``REMOTE_ADDR``: the sign-in throttle, the
download and preview logs, the address a buyer paid from. Behind nginx that is nginx's own
address for every client. When the connection comes from a trusted proxy, this middleware puts
the client's address there instead, read from ``X-Forwarded-For`` as the proxies wrote it.

Each proxy appends the address it was connected from, so the header is read from the right:
entries written by trusted proxies are believed, and the first address that is not a trusted
proxy's is the client. What lies left of it was sent by the client and could say anything.
A connection from anywhere else keeps its own address, whatever headers it sends.

django-ipware was weighed and not taken: by default it ranks some thirty headers a client can
forge (``X-Real-IP``, ``CF-Connecting-IP``, ...), and the one rule needed here is this one.
"""

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(peer: str, forwarded_for: str, trusted: Iterable[Network]) -> str:
    """The client's address: ``peer`` (the connection's) unless it is a trusted proxy; then
    the right-most address of ``forwarded_for`` that is not a trusted proxy's, or, when every
    one is, the left-most. An entry that is no address (a proxy written wrong) ends the walk
    at the nearest address known good."""
    trusted = tuple(trusted)
    if not _is_trusted(peer, trusted):
        return peer
    found = peer
    for entry in reversed(forwarded_for.split(",")):
        entry = entry.strip()
        if not entry:
            continue
        try:
            address = str(ipaddress.ip_address(entry))
        except ValueError:
            return found
        found = address
        if not _is_trusted(address, trusted):
            return address
    return found


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


class ForwardedForMiddleware:
    """``REMOTE_ADDR`` becomes the client's address when the request came through a trusted
    proxy. First in the chain, so that every other part reads the same address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trusted = settings.HANDOVER_TRUSTED_PROXIES
        if trusted:
            request.META["REMOTE_ADDR"] = client_address(
                request.META.get("REMOTE_ADDR", ""),
                request.META.get("HTTP_X_FORWARDED_FOR", ""),
                trusted,
            )
        return self.get_response(request)
