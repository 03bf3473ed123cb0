from datetime import timedelta

from django import template

from handover.lib.money import format_amount
from handover.web.display import PREVIEW_LABELS, STATE_LABELS, countdown

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    """Minor units as an amount: ``{{ order.total|money:order.currency }}`` gives 126.60 EUR."""
    return format_amount(amount, currency)


@register.filter
def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


@register.filter
def preview_label(preview_state: str) -> str:
    return PREVIEW_LABELS.get(preview_state, preview_state)


@register.filter
def duration(left: timedelta) -> str:
    """A duration as people say it: ``{{ left|duration }}`` gives 2 days 4 hours."""
    return countdown(left)


@register.filter
def seconds(value: float | int | None) -> str:
    """A length in seconds as a clock reads it: ``{{ 95.4|seconds }}`` gives 1:35."""
    if value is None:
        return ""
    total = int(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
