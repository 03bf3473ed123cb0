"""Typed readers for settings taken from the environment; a bad value stops start-up at once."""

import ipaddress
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from handover.lib.durations import parse_duration

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r}: expected {expected}")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _fail(name, raw, "true or false")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _fail(name, raw, "an integer") from None
    if minimum is not None and value < minimum:
        raise _fail(name, raw, f"an integer of at least {minimum}")
    return value


def env_duration(name: str, default: str) -> timedelta:
    raw = os.environ.get(name, default)
    try:
        value = parse_duration(raw)
    except ValueError:
        raise _fail(name, raw, "a duration like 90s, 15m, 48h or 3d") from None
    if not value:
        raise _fail(name, raw, "a duration above zero")
    return value


def env_percent(name: str, default: str) -> Decimal:
    raw = os.environ.get(name, default)
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _fail(name, raw, "a percentage like 20 or 5.5") from None
    if not value.is_finite() or not 0 <= value < 100 or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise _fail(name, raw, "a percentage from 0 up to 100 with at most 4 decimals")
    return value


_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def env_size(name: str, default: str) -> int:
    """A size in bytes, written like 1048576, 512K, 100M, 5G (binary units)."""
    raw = os.environ.get(name, default)
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (text[:-1], text[-1]) if text[-1:] in _SIZE_UNITS else (text, "")
    if not number.isdigit() or int(number) == 0:
        raise _fail(name, raw, "a size above zero like 1048576, 512K, 100M or 5G")
    return int(number) * _SIZE_UNITS[unit]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    raw = os.environ.get(name, default)
    if raw not in choices:
        raise _fail(name, raw, "one of " + ", ".join(sorted(choices)))
    return raw


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


def env_base_url(name: str, default: str) -> str:
    """The site's public address, like https://handover.example.com: scheme and host (a port
    and a path prefix allowed), no query; kept without its trailing slash."""
    raw = os.environ.get(name, default)
    try:
        parts = urlsplit(raw.strip())
    except ValueError:
        raise _fail(name, raw, "an address like https://handover.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise _fail(name, raw, "an address like https://handover.example.com")
    return raw.strip().rstrip("/")


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks, comma-separated (``127.0.0.1, 10.0.0.0/8, ::1``); empty: none."""
    raw = os.environ.get(name, "")
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError:
        raise _fail(name, raw, "addresses or networks like 127.0.0.1, 10.0.0.0/8") from None
