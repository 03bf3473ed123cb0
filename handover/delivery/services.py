import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.delivery.kinds import Kind
from handover.delivery.models import (
    ChecklistItem,
    Delivery,
    DeliveryFile,
    PreviewPart,
    PreviewState,
)
from handover.delivery.previewing import preview_hold_of, preview_hold_refresh, preview_lease
from handover.delivery.selectors import delivery_precheck, file_for
from handover.delivery.tallies import view_counted
from handover.delivery.tasks import preview_enqueue
from handover.delivery.uploads import IngestedFile, UploadSession, files_ingest
from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
from handover.evidence.visibility import request_values
from handover.lib.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    TransitionNotAllowed,
)
from handover.lib.ranges import SentRange
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.orders.models import Attachment, Order
from handover.orders.rules import ORIGINALS_LOCKED, RELEASE_ENDED, Action, Actor, State
from handover.orders.services import (
    MAX_TEXT_LENGTH,
    order_check,
    order_lock,
    order_move,
    role_of,
)

logger = logging.getLogger(__name__)
PREVIEWED = {Kind.IMAGE, Kind.PDF, Kind.AUDIO, Kind.VIDEO, Kind.TEXT, Kind.ARCHIVE}


@dataclass(frozen=True)
class Tick:
    """One checklist line: the requirement (its index on the order) this delivery answers,
    and the files that answer it (their places in the delivery's files, from 0); none named:
    the delivery as a whole."""

    requirement: int
    note: str = ""
    files: tuple[int, ...] = ()


def order_deliver(
    *,
    order_id: int,
    user: User,
    text: str,
    files: Sequence[UploadedFile],
    checklist: Sequence[Tick] = (),
) -> Delivery:
    """The seller delivers a message and files, ticking the requirement items they answer;
    the order moves to ``delivered``.

    Files come in already stored (``IngestedFile``, streamed by the upload handler) or as
    ordinary uploaded files, which take the same way into storage first. Their previews are
    made by the worker once the delivery is committed."""
    if not files or not all(isinstance(f, IngestedFile) for f in files):
        # Streamed files passed this check before their first byte was read.
        delivery_precheck(order_id=order_id, user=user)
    if not files:
        raise InvalidInput("A delivery needs at least one file.", code="no_files")
    session = UploadSession(order_id=order_id)
    try:
        stored = files_ingest(session, list(files))
        with transaction.atomic():
            order = order_lock(order_id)
            actor = role_of(order, user)
            order_check(order=order, action=Action.DELIVER, actor=actor, target=State.DELIVERED)
            text = text_check(text, field="message", limit=MAX_TEXT_LENGTH, required=False)
            ticks = _checklist_clean(order, checklist, file_count=len(files))
            delivery = _record_delivery(order, user, actor, text, stored, ticks)
        # Rows point at these objects now. (Were an outer transaction to roll back, they
        # would stay as orphans: better than rows pointing at nothing.)
        session.claimed.update(f.key for f in stored)
        return delivery
    finally:
        session.discard_unclaimed(default_storage.delete)


def _checklist_clean(order: Order, checklist: Sequence[Tick], *, file_count: int) -> list[Tick]:
    count = len(order.requirements)
    seen: set[int] = set()
    for tick in checklist:
        if not 0 <= tick.requirement < count:
            raise InvalidInput(
                f"This order has {count} requirement items, numbered from 0; "
                f"there is no item {tick.requirement}.",
                code="bad_checklist",
            )
        if tick.requirement in seen:
            raise InvalidInput(
                f"Requirement item {tick.requirement} is ticked twice.", code="bad_checklist"
            )
        seen.add(tick.requirement)
        text_check(tick.note, field="checklist note", limit=2000, required=False)
        _tick_files_check(tick, file_count)
    return sorted(checklist, key=lambda t: t.requirement)


def _checklist_files_record(
    items: list[ChecklistItem], ticks: list[Tick], rows: list[DeliveryFile]
) -> None:
    """Each item's files: those its tick names, or every file of the delivery."""
    Through = ChecklistItem.files.through
    links = []
    for item, tick in zip(items, ticks, strict=True):
        named = [rows[place] for place in tick.files] if tick.files else rows
        item.made_files = named
        links += [Through(checklistitem_id=item.pk, deliveryfile_id=f.pk) for f in named]
    Through.objects.bulk_create(links)


def _tick_payload(tick: Tick, rows: list[DeliveryFile]) -> dict:
    """A tick as the delivery's event records it: the files by id, where the seller named some."""
    payload: dict = {"requirement": tick.requirement, "note": tick.note}
    if tick.files:
        payload["files"] = [rows[place].pk for place in tick.files]
    return payload


def _tick_files_check(tick: Tick, file_count: int) -> None:
    for place in tick.files:
        if not 0 <= place < file_count:
            raise InvalidInput(
                f"Requirement item {tick.requirement} names file {place}; this delivery has "
                f"{file_count} file{'' if file_count == 1 else 's'}, numbered from 0.",
                code="bad_checklist",
            )
    if len(set(tick.files)) != len(tick.files):
        raise InvalidInput(
            f"Requirement item {tick.requirement} names a file twice.", code="bad_checklist"
        )


def _record_delivery(
    order: Order,
    user: User,
    actor: Actor,
    message: str,
    stored: list[IngestedFile],
    ticks: list[Tick],
) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(order=order, message=message, created_at=now)
    delivery.made_checklist = ChecklistItem.objects.bulk_create(
        ChecklistItem(delivery=delivery, requirement=t.requirement, note=t.note) for t in ticks
    )
    delivery.made_files = rows = DeliveryFile.objects.bulk_create(
        DeliveryFile(
            delivery=delivery,
            storage_key=s.key,
            name=s.name,
            size=s.size,
            sha256=s.sha256,
            kind=s.kind,
            content_type=s.content_type or "application/octet-stream",
            preview_state=PreviewState.PENDING if s.kind in PREVIEWED else PreviewState.NONE,
            # The queued task's time to begin: past it, the sweep queues the preview again.
            preview_lease_until=now + preview_lease(s.size) if s.kind in PREVIEWED else None,
        )
        for s in stored
    )
    _checklist_files_record(delivery.made_checklist, ticks, rows)
    order.last_delivered_at = now
    order.preview_hold = preview_hold_of(None, [row.preview_state for row in rows])
    files = [
        {
            "id": row.pk,
            "name": s.name,
            "size": s.size,
            "sha256": s.sha256,
            "kind": s.kind,
            "type": s.content_type,
        }
        for row, s in zip(rows, stored, strict=True)
    ]
    order_move(
        order=order,
        action=Action.DELIVER,
        actor=actor,
        user=user,
        target=State.DELIVERED,
        payload={
            "delivery_id": delivery.pk,
            "message": message,
            "files": files,
            "checklist": [_tick_payload(t, rows) for t in ticks],
        },
    )
    for row in rows:
        if row.preview_state == PreviewState.PENDING:
            preview_enqueue(row.pk)
    return delivery


@transaction.atomic
def delivery_release_early(*, order_id: int, user: User, delivery_id: int) -> Delivery:
    """The seller lets the buyer take this delivery's originals now; it cannot be undone."""
    order = order_lock(order_id)
    if role_of(order, user) != Actor.SELLER or order.state in RELEASE_ENDED:
        raise TransitionNotAllowed("Only the seller of an open order releases originals early.")
    delivery = Delivery.objects.filter(pk=delivery_id, order=order).first()
    if delivery is None:
        raise NotFound("No such delivery on this order.")
    if delivery.released_early_at is None:
        delivery.released_early_at = timezone.now()
        delivery.save(update_fields=["released_early_at"])
        event = event_append(
            order=order,
            type=EventType.DELIVERY_RELEASED_EARLY,
            actor=user,
            actor_role=Actor.SELLER,
            payload={"delivery_id": delivery.pk},
        )
        notifications_for_event(event)
        preview_hold_refresh(order)
    return delivery


def buyer_may_take_originals(order: Order, delivery: Delivery) -> bool:
    """Completion releases originals; a refund or chargeback takes them back."""
    if order.state in ORIGINALS_LOCKED:
        return False
    if order.state == State.COMPLETED:
        return True
    if order.state == State.DISPUTED and order.settled_at is not None:
        return True  # a dispute after completion: nothing is revoked until support decides
    return delivery.released_early_at is not None


@dataclass(frozen=True)
class Visit:
    """Who asked for a file's bytes, from where, for the record."""

    user: User
    address: str
    user_agent: str


def original_access(*, file_id: int, visit: Visit) -> DeliveryFile:
    """The file whose original ``visit.user`` may download; a refusal is recorded and raised.
    The download itself is recorded by ``file_served_record`` once the answer is known."""
    file, actor = file_for(file_id=file_id, user=visit.user)
    if actor != Actor.BUYER or buyer_may_take_originals(file.delivery.order, file.delivery):
        return file
    originals_refused(
        order_id=file.delivery.order_id,
        visit=visit,
        actor=actor,
        payload={"file_id": file.pk, "sha256": file.sha256, "bytes": 0},
    )


def originals_refused(
    *, order_id: int, visit: Visit, actor: Actor, payload: dict[str, Any]
) -> NoReturn:
    """Put a refused download of originals on the order's record, then raise the refusal."""
    with transaction.atomic():  # committed before the refusal is raised
        order = order_lock(order_id)  # the order's chain takes one at a time
        _refusals_check(visit.user)
        event = event_append(
            order=order,
            type=EventType.ORIGINAL_REFUSED,
            actor=visit.user,
            actor_role=actor,
            payload=payload,
            sealed=_visit_values(visit),
        )
        notifications_for_event(event)
    raise PermissionDenied(originals_refusal(order), code="originals_locked")


def originals_refusal(order: Order) -> str:
    """Why the buyer may not take an original of ``order``, in their words."""
    if order.state == State.CHARGED_BACK:
        return "The payment for this order was charged back, so access to its originals ended."
    if order.state == State.CHARGEBACK_HOLD:
        return (
            "Your bank took the payment for this order back (a chargeback), so its originals "
            "are locked while the bank decides."
        )
    if order.state == State.CANCELLED:
        refunded = " and refunded" if order.refunded else ""
        return f"This order was cancelled{refunded}, so its originals are not released to you."
    return "Originals are released when the order completes."


def _refusals_check(user: User) -> None:
    """Past ``HANDOVER_REFUSED_LIMIT`` refused originals within ``HANDOVER_REFUSED_WINDOW``, a
    user is told to wait (429) and nothing more is recorded: asking again and again cannot
    grow the order's record. Counted from the record itself, so every process agrees."""
    since = timezone.now() - settings.HANDOVER_REFUSED_WINDOW
    recent = Event.objects.filter(
        actor=user, type=EventType.ORIGINAL_REFUSED, created_at__gte=since
    ).order_by("-created_at")
    limit = settings.HANDOVER_REFUSED_LIMIT
    times = list(recent.values_list("created_at", flat=True)[:limit])
    if len(times) < limit:
        return
    wait = times[-1] + settings.HANDOVER_REFUSED_WINDOW - timezone.now()
    raise TooManyRequests(
        "Too many requests for originals that are not released yet: try again later.",
        retry_after=max(1, int(wait.total_seconds()) + 1),
    )


def preview_part_for(*, file_id: int, user: User, index: int) -> tuple[DeliveryFile, PreviewPart]:
    """A part of a file's preview, for the order's parties and support only."""
    file, _actor = file_for(file_id=file_id, user=user)
    if file.preview_state == PreviewState.PENDING:
        raise Conflict("The preview is being made; try again shortly.", code="preview_pending")
    if file.preview_state == PreviewState.FAILED:
        raise Conflict(f"No preview: {file.preview_reason}", code="preview_failed")
    part = PreviewPart.objects.filter(file=file, index=index).first()
    if part is None:
        raise NotFound("This file has no such preview part.", code="no_preview")
    return file, part


@transaction.atomic
def file_served_record(
    *,
    file: DeliveryFile,
    visit: Visit,
    sent: SentRange,
    part: PreviewPart | None = None,
    archive: dict[str, Any] | None = None,
) -> None:
    """Every original download goes on the order's record, and every preview view: a
    user's repeated views of one part within a window as one event with their count.
    ``archive`` marks an original sent inside a delivery's "download all" archive."""
    order = order_lock(file.delivery.order_id)  # the order's chain takes one event at a time
    if part is not None and view_counted(order, part, visit.user, sent):
        return
    payload = {
        "file_id": file.pk,
        "sha256": part.sha256 if part else file.sha256,
        "status": sent.status,
        "bytes": sent.bytes,
        "range": sent.range,
    }
    if part is not None:
        payload["part"] = part.index
    if archive is not None:
        payload["archive"] = archive
    event = event_append(
        order=order,
        type=EventType.PREVIEW_VIEWED if part else EventType.ORIGINAL_DOWNLOADED,
        actor=visit.user,
        actor_role=role_of(order, visit.user),
        payload=payload,
        sealed=_visit_values(visit),
    )
    notifications_for_event(event)


@transaction.atomic
def attachment_served_record(
    *, attachment: Attachment, actor: Actor, visit: Visit, sent: SentRange
) -> None:
    """A reference file's download goes on the order's record, as an original's does."""
    order = order_lock(attachment.order_id)  # the order's chain takes one event at a time
    event = event_append(
        order=order,
        type=EventType.ATTACHMENT_DOWNLOADED,
        actor=visit.user,
        actor_role=actor,
        payload={
            "attachment_id": attachment.pk,
            "sha256": attachment.sha256,
            "status": sent.status,
            "bytes": sent.bytes,
            "range": sent.range,
        },
        sealed=_visit_values(visit),
    )
    notifications_for_event(event)


def _visit_values(visit: Visit) -> dict[str, str]:
    return request_values(visit.address, visit.user_agent)
