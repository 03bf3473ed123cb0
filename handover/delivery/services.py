import hashlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend

from handover.accounts.models import User
from handover.delivery import previews
from handover.delivery.kinds import Kind
from handover.delivery.models import (
    ChecklistItem,
    Delivery,
    DeliveryFile,
    PreviewPart,
    PreviewState,
    PreviewViewTally,
)
from handover.delivery.previews import Limits, Part, PreviewError
from handover.delivery.selectors import delivery_precheck, file_for
from handover.delivery.storage import local_copy, scratch_dir, store_file
from handover.delivery.uploads import IngestedFile, UploadSession, files_ingest
from handover.evidence.models import Event, EventType
from handover.evidence.services import event_append
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
from handover.orders.models import Order
from handover.orders.rules import CLOSED, Action, Actor, PreviewHold, State
from handover.orders.services import (
    MAX_TEXT_LENGTH,
    order_check,
    order_lock,
    order_move,
    role_of,
)

logger = logging.getLogger(__name__)
WORKER = "worker"  # the role on events the worker writes of its own accord
PREVIEWED = {Kind.IMAGE, Kind.PDF, Kind.AUDIO, Kind.VIDEO, Kind.TEXT, Kind.ARCHIVE}


@dataclass(frozen=True)
class Tick:
    """One checklist line: the requirement (its index on the order) this delivery answers."""

    requirement: int
    note: str = ""


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
            ticks = _checklist_clean(order, checklist)
            delivery = _record_delivery(order, user, actor, text, stored, ticks)
        # Rows point at these objects now. (Were an outer transaction to roll back, they
        # would stay as orphans: better than rows pointing at nothing.)
        session.claimed.update(f.key for f in stored)
        return delivery
    finally:
        session.discard_unclaimed(default_storage.delete)


def _checklist_clean(order: Order, checklist: Sequence[Tick]) -> list[Tick]:
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
    return sorted(checklist, key=lambda t: t.requirement)


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
            "checklist": [{"requirement": t.requirement, "note": t.note} for t in ticks],
        },
    )
    for row in rows:
        if row.preview_state == PreviewState.PENDING:
            _preview_enqueue(row.pk)
    return delivery


def _preview_enqueue(file_id: int) -> None:
    """Queue the file's preview. With the database task backend the task's row is written in
    the delivery's transaction: the worker sees both or neither, a crash after the commit
    cannot lose the task, and no second write waits for the lock. Any other backend could run
    the task at once, before the rows it needs are committed, so it is queued on commit."""
    from handover.delivery.tasks import preview_make_task

    if isinstance(preview_make_task.get_backend(), DatabaseBackend):
        preview_make_task.enqueue(file_id)
    else:
        transaction.on_commit(lambda: preview_make_task.enqueue(file_id))


@transaction.atomic
def delivery_release_early(*, order_id: int, user: User, delivery_id: int) -> Delivery:
    """The seller lets the buyer take this delivery's originals now; it cannot be undone."""
    order = order_lock(order_id)
    if role_of(order, user) != Actor.SELLER or order.state in CLOSED:
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
        _preview_hold_refresh(order)
    return delivery


def buyer_may_take_originals(order: Order, delivery: Delivery) -> bool:
    """Completion releases originals; a refund or chargeback takes them back."""
    if order.state in (State.CANCELLED, State.CHARGED_BACK):
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
    with transaction.atomic():  # committed before the refusal is raised
        order = order_lock(file.delivery.order_id)  # the order's chain takes one at a time
        _refusals_check(visit.user)
        event = event_append(
            order=order,
            type=EventType.ORIGINAL_REFUSED,
            actor=visit.user,
            actor_role=actor,
            payload={"file_id": file.pk, "sha256": file.sha256, "bytes": 0},
            sealed=_visit_values(visit),
        )
        notifications_for_event(event)
    raise PermissionDenied(
        "Originals are released when the order completes.", code="originals_locked"
    )


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
    *, file: DeliveryFile, visit: Visit, sent: SentRange, part: PreviewPart | None = None
) -> None:
    """Every original download goes on the order's record, and every preview view: a
    user's repeated views of one part within a window as one event with their count."""
    order = order_lock(file.delivery.order_id)  # the order's chain takes one event at a time
    if part is not None and _view_counted(order, part, visit.user, sent):
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
    event = event_append(
        order=order,
        type=EventType.PREVIEW_VIEWED if part else EventType.ORIGINAL_DOWNLOADED,
        actor=visit.user,
        actor_role=role_of(order, visit.user),
        payload=payload,
        sealed=_visit_values(visit),
    )
    notifications_for_event(event)


def _view_counted(order: Order, part: PreviewPart, user: User, sent: SentRange) -> bool:
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
        _tally_close(order, tally)
    PreviewViewTally.objects.create(part=part, user=user, opened_at=now, last_at=now)
    return False


def _tally_close(order: Order, tally: PreviewViewTally) -> None:
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
                _tally_close(order, found)
                closed += 1
    return closed


def _visit_values(visit: Visit) -> dict[str, str]:
    """Where the request came from: support's to read, sealed in the event (see
    ``evidence.visibility``)."""
    return {"address": visit.address, "user_agent": visit.user_agent[:300]}


def preview_make(*, file_id: int) -> None:
    """Make a file's preview (the worker's task): the kind's module reads the original and
    writes the parts, which are stored, then recorded with the file's new state."""
    file = DeliveryFile.objects.select_related("delivery__order__buyer").get(pk=file_id)
    if file.preview_state != PreviewState.PENDING:
        return
    if file.preview_attempts >= settings.HANDOVER_PREVIEW_ATTEMPTS:
        _preview_record_failure(file_id, stopped_reason(file.preview_attempts))
        return
    _preview_claim(file)
    order = file.delivery.order
    label = f"PREVIEW · order {order.pk} · {order.buyer.username}"
    stored: list[str] = []
    out_dir = Path(tempfile.mkdtemp(dir=scratch_dir(), prefix="preview-"))
    try:
        with local_copy(file.storage_key) as src:
            result = previews.make(
                Kind(file.kind), src, out_dir, label=label, name=file.name, limits=preview_limits()
            )
        parts = [_part_store(file, index, part, stored) for index, part in enumerate(result.parts)]
        if not _preview_record(file_id, parts, result.info):
            _delete_all(stored)
    except PreviewError as error:
        _delete_all(stored)
        _preview_record_failure(file_id, str(error))
    except Exception:
        _delete_all(stored)
        logger.exception("preview of file %s failed", file_id)
        _preview_record_failure(file_id, "The preview could not be made (an internal error).")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def preview_lease(size: int) -> timedelta:
    """How long one attempt at a preview may take: copying the original out of storage (at 20
    MB/s at worst) and the decoder's own time limit, twice over."""
    return 2 * settings.HANDOVER_PREVIEW_TIMEOUT + timedelta(seconds=size / 20e6)


def stopped_reason(attempts: int) -> str:
    return (
        "The preview could not be made: the worker stopped while making it "
        f"{attempts} time{'s' if attempts != 1 else ''}."
    )


def _preview_claim(file: DeliveryFile) -> None:
    """Count this attempt and hold the file for its lease: a worker killed now leaves the
    file pending past the lease, and the sweep queues it again."""
    DeliveryFile.objects.filter(pk=file.pk).update(
        preview_attempts=F("preview_attempts") + 1,
        preview_lease_until=timezone.now() + preview_lease(file.size),
    )


def previews_resume_stalled(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Queue again each preview whose worker stopped (still pending past its lease); one that
    stopped ``HANDOVER_PREVIEW_ATTEMPTS`` times fails with that reason."""
    now = now or timezone.now()
    stalled = DeliveryFile.objects.filter(
        preview_state=PreviewState.PENDING, preview_lease_until__lt=now
    ).values_list("pk", "preview_attempts", "size")[:limit]
    counts = {"queued": 0, "failed": 0}
    for file_id, attempts, size in stalled:
        if attempts >= settings.HANDOVER_PREVIEW_ATTEMPTS:
            _preview_record_failure(file_id, stopped_reason(attempts))
            counts["failed"] += 1
            continue
        with transaction.atomic():
            # Conditional: a sweep running beside this one queues the file only once.
            queued = DeliveryFile.objects.filter(
                pk=file_id, preview_state=PreviewState.PENDING, preview_lease_until__lt=now
            ).update(preview_lease_until=now + preview_lease(size))
            if queued:
                _preview_enqueue(file_id)
                counts["queued"] += 1
    return counts


def preview_limits() -> Limits:
    return Limits(
        max_pixels=settings.HANDOVER_MAX_IMAGE_PIXELS,
        timeout_s=settings.HANDOVER_PREVIEW_TIMEOUT.total_seconds(),
        memory_bytes=settings.HANDOVER_PREVIEW_MEMORY,
    )


def _part_store(file: DeliveryFile, index: int, part: Part, stored: list[str]) -> PreviewPart:
    digest = hashlib.sha256()
    with part.path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    key = f"previews/{file.delivery.order_id}/{uuid.uuid4().hex}{part.path.suffix}"
    store_file(key, part.path)
    stored.append(key)
    return PreviewPart(
        file=file,
        index=index,
        storage_key=key,
        content_type=part.content_type,
        size=part.path.stat().st_size,
        sha256=digest.hexdigest(),
    )


@transaction.atomic
def _preview_record(file_id: int, parts: list[PreviewPart], info: dict) -> bool:
    # The order's lock (its chain takes one event at a time), then the file's: a second
    # worker on the same file finds it no longer pending.
    order = _lock_order_of(file_id)
    file = DeliveryFile.objects.select_for_update().select_related("delivery").get(pk=file_id)
    if file.preview_state != PreviewState.PENDING:
        return False
    file.preview_state = PreviewState.READY
    file.preview_info = info
    file.preview_lease_until = None
    file.save(update_fields=["preview_state", "preview_info", "preview_lease_until"])
    PreviewPart.objects.bulk_create(parts)
    event = event_append(
        order=order,
        type=EventType.PREVIEW_MADE,
        actor=None,
        actor_role=WORKER,
        payload={
            "file_id": file.pk,
            "parts": [
                {"index": p.index, "sha256": p.sha256, "size": p.size, "type": p.content_type}
                for p in parts
            ],
        },
    )
    notifications_for_event(event)
    _preview_hold_refresh(order)
    return True


@transaction.atomic
def _preview_record_failure(file_id: int, reason: str) -> None:
    order = _lock_order_of(file_id)
    file = DeliveryFile.objects.select_for_update().get(pk=file_id)
    if file.preview_state != PreviewState.PENDING:
        return
    file.preview_state = PreviewState.FAILED
    file.preview_reason = _sentence(reason)
    file.preview_lease_until = None
    file.save(update_fields=["preview_state", "preview_reason", "preview_lease_until"])
    event = event_append(
        order=order,
        type=EventType.PREVIEW_FAILED,
        actor=None,
        actor_role=WORKER,
        payload={"file_id": file.pk, "reason": file.preview_reason},
    )
    notifications_for_event(event)
    _preview_hold_refresh(order)


def _lock_order_of(file_id: int) -> Order:
    return order_lock(
        DeliveryFile.objects.values_list("delivery__order_id", flat=True).get(pk=file_id)
    )


def preview_hold_of(released_early_at: datetime | None, states: Sequence[str]) -> PreviewHold:
    """Why auto-complete waits on the latest delivery, given its files' preview states."""
    if released_early_at is not None:
        return PreviewHold.NONE  # the buyer may look at the originals themselves
    if PreviewState.PENDING in states:
        return PreviewHold.PENDING
    return PreviewHold.FAILED if PreviewState.FAILED in states else PreviewHold.NONE


def _preview_hold_refresh(order: Order) -> None:
    """Set the locked order's hold from its latest delivery. When the hold lifts on a
    delivered order, the buyer gets the whole auto-complete window from now on."""
    latest = Delivery.objects.filter(order=order).order_by("-id").first()
    states = list(latest.files.values_list("preview_state", flat=True)) if latest else []
    hold = preview_hold_of(latest.released_early_at if latest else None, states)
    if hold == order.preview_hold:
        return
    lifted = bool(order.preview_hold) and not hold
    order.preview_hold = hold
    if lifted and order.state == State.DELIVERED and order.timer_at is not None:
        order.timer_at = max(order.timer_at, timezone.now() + settings.HANDOVER_AUTO_COMPLETE_AFTER)
    Order.objects.filter(pk=order.pk).update(preview_hold=hold, timer_at=order.timer_at)


def _sentence(reason: str) -> str:
    """Decoders word their reasons as fragments ("took longer than 120 s"); people read a
    sentence: "The preview took longer than 120 s." """
    reason = " ".join(reason.split())[:290] or "The preview could not be made"
    if not reason[0].isupper():
        reason = "The preview " + reason if reason.startswith(("took", "needed")) else reason
        reason = reason[0].upper() + reason[1:]
    return reason if reason.endswith((".", "!", "?")) else reason + "."


def _delete_all(keys: list[str]) -> None:
    for key in keys:
        default_storage.delete(key)
