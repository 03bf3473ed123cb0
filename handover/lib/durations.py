"""Durations written the way operators write them: ``90s``, ``15m``, ``48h``, ``3d``."""

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PATTERN = re.compile(r"^\s*([0-9]{1,9})\s*([smhd])\s*$")
MAX_DURATION = timedelta(days=3650)  # ten years: far past any window, far below overflow


def parse_duration(text: str) -> timedelta:
    """Parse ``<integer><unit>`` with unit s, m, h or d; raise ValueError otherwise."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 48h or 3d")
    amount, unit = match.groups()
    value = timedelta(**{_UNITS[unit]: int(amount)})
    if value > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than ten years")
    return value


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of a whole number of seconds."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
