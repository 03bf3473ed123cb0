"""Preview views on the record: a user's first view of a part opens a window
(``HANDOVER_PREVIEW_VIEW_WINDOW``); the views within it are counted in a tally and written as
one event with their count when the window closes."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.delivery.models import PreviewPart, PreviewViewTally
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.ranges import SentRange
from handover.notifications.services import notifications_for_event
from handover.orders.models import Order
from handover.orders.services import order_lock, role_of


def view_counted(order: Order, part: PreviewPart, user: User, sent: SentRange) -> bool:
    """Count a view within the user's open window on this part (True: no event now). A
    window past its time is closed first, and this view opens a new one."""
    now = timezone.now()
    tally = PreviewViewTally.objects.filter(part=part, user=user).first()
    if tally is not None and now < tally.opened_at + settings.HANDOVER_PREVIEW_VIEW_WINDOW:
        tally.repeats += 1
        tally.bytes += sent.bytes
        tally.last_at = now
        tally.save(update_fields=["repeats", "bytes", "last_at"])
        return True
    if tally is not None:
        tally_close(order, tally)
    PreviewViewTally.objects.create(part=part, user=user, opened_at=now, last_at=now)
    return False


def tally_close(order: Order, tally: PreviewViewTally) -> None:
    """The window's repeated views as one event with their count; the caller holds the
    order's lock."""
    if tally.repeats:
        part = tally.part
        event = event_append(
            order=order,
            type=EventType.PREVIEW_VIEWED,
            actor=tally.user,
            actor_role=role_of(order, tally.user),
            payload={
                "file_id": part.file_id,
                "sha256": part.sha256,
                "part": part.index,
                "repeats": tally.repeats,
                "bytes": tally.bytes,
                "first_at": tally.opened_at.isoformat(),
                "last_at": tally.last_at.isoformat(),
            },
        )
        notifications_for_event(event)
    tally.delete()


def preview_views_close(*, order_id: int | None = None, now: datetime | None = None) -> int:
    """Close the view windows that ran out (the scheduler's sweep), or every open one of an
    order (before its evidence bundle is made, so the bundle holds every view)."""
    tallies = PreviewViewTally.objects.all()
    if order_id is not None:
        tallies = tallies.filter(part__file__delivery__order_id=order_id)
    else:
        cutoff = (now or timezone.now()) - settings.HANDOVER_PREVIEW_VIEW_WINDOW
        tallies = tallies.filter(opened_at__lte=cutoff)
    closed = 0
    for tally_id, tally_order in tallies.values_list("pk", "part__file__delivery__order_id"):
        with transaction.atomic():
            order = order_lock(tally_order)
            tally = PreviewViewTally.objects.select_related("part", "user").filter(pk=tally_id)
            found = tally.first()  # a view under the lock may have closed it already
            if found is not None:
                tally_close(order, found)
                closed += 1
    return closed
