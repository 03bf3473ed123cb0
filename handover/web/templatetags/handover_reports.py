from django import template

from handover.web.forms import REPORT_REASONS

register = template.Library()

_REASONS = {str(value): label for value, label in REPORT_REASONS}


@register.filter
def reason_label(reason: str) -> str:
    """A report's reason in the words the reporter chose it by."""
    return _REASONS.get(reason, reason)
