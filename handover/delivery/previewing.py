"""Making previews, the worker's side of a delivery: each attempt claimed under a lease,
made in a sandboxed child (``previews``), stored and recorded with the file's new state, and
the order's auto-complete hold kept in step. The tasks call it; it never queues a task itself
(``previews_resume_stalled`` is handed the function that does)."""

import hashlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from handover.delivery import previews
from handover.delivery.kinds import Kind
from handover.delivery.models import Delivery, DeliveryFile, PreviewPart, PreviewState
from handover.delivery.previews import Limits, Part, PreviewError
from handover.delivery.storage import local_copy, scratch_dir, store_file
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.notifications.services import notifications_for_event
from handover.orders.models import Order
from handover.orders.rules import PreviewHold, State
from handover.orders.services import order_lock

logger = logging.getLogger(__name__)

WORKER = "worker"  # the role on events the worker writes of its own accord


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
            stored_delete(stored)
    except PreviewError as error:
        stored_delete(stored)
        _preview_record_failure(file_id, str(error))
    except Exception:
        stored_delete(stored)
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


def previews_resume_stalled(
    *, enqueue: Callable[[int], None], now: datetime | None = None, limit: int = 200
) -> dict[str, int]:
    """Queue again each preview whose worker stopped (still pending past its lease); one that
    stopped ``HANDOVER_PREVIEW_ATTEMPTS`` times fails with that reason. ``enqueue`` queues a
    file's preview task (``tasks.preview_enqueue``: the tasks import this module)."""
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
                enqueue(file_id)
                counts["queued"] += 1
    return counts


def preview_limits() -> Limits:
    return Limits(
        max_pixels=settings.HANDOVER_MAX_IMAGE_PIXELS,
        timeout_s=settings.HANDOVER_PREVIEW_TIMEOUT.total_seconds(),
        memory_bytes=settings.HANDOVER_PREVIEW_MEMORY,
        video_seconds=settings.HANDOVER_PREVIEW_CLIP.total_seconds(),
        video_whole=settings.HANDOVER_PREVIEW_VIDEO == "whole",
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
    preview_hold_refresh(order)
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
    preview_hold_refresh(order)


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


def preview_hold_refresh(order: Order) -> None:
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


def stored_delete(keys: list[str]) -> None:
    for key in keys:
        default_storage.delete(key)
