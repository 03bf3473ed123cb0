from django import template

from handover.accounts.models import User
from handover.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user: User) -> int:
    """The top bar's count: one indexed COUNT per page, for a signed-in user only."""
    return unread_count(user) if user.is_authenticated else 0
