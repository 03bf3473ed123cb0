"""What a user reads of their notifications: the same rows for the web page and the API."""

from dataclasses import dataclass

from django.db.models import F, QuerySet

from handover.accounts.models import User
from handover.notifications import rules
from handover.notifications.models import EmailOptOut, Kind, Notification


def notifications_of(user: User) -> QuerySet[Notification]:
    """``user``'s notifications, newest first, each with its order and the state of its e-mail
    (None where the user gets no e-mails of its kind)."""
    return (
        Notification.objects.filter(recipient=user)
        .annotate(
            event_order_id=F("event__order_id"),
            email_state=F("email__state"),
            email_sent_at=F("email__sent_at"),
        )
        .order_by("-id")
    )


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications are unread (one indexed COUNT, for the top bar)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class EmailChoice:
    kind: Kind
    on: bool
    always_why: str  # why it cannot be switched off; empty if it can

    @property
    def label(self) -> str:
        return str(self.kind.label)


def email_choices(user: User) -> list[EmailChoice]:
    """Each kind of e-mail the user may be sent, whether they get it, and which stay on."""
    off = set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    return [
        EmailChoice(kind, kind not in off, rules.ALWAYS_MAILED.get(kind, ""))
        for kind in rules.kinds_offered(staff=user.is_support)
    ]
