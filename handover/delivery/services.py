import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from handover.accounts.models import User
from handover.delivery.models import Delivery, DeliveryFile
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.errors import InvalidInput, NotFound, TransitionNotAllowed
from handover.orders.models import Order
from handover.orders.rules import CLOSED, Action, Actor, State
from handover.orders.services import _clean_text, order_check, order_lock, order_move, role_of

MAX_NAME = 255


@dataclass(frozen=True)
class StoredFile:
    key: str
    name: str
    size: int
    sha256: str
    content_type: str


def display_name(raw: str) -> str:
    """The uploaded name made safe to show: no path, no control or bidi characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch
        for ch in name
        if ch.isprintable() and ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
    name = name.strip().lstrip(".") or "file"
    return name[:MAX_NAME]


def _store(order: Order, upload: UploadedFile) -> StoredFile:
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    key = default_storage.save(f"originals/{order.pk}/{uuid.uuid4().hex}", upload)
    return StoredFile(
        key=key,
        name=display_name(upload.name or ""),
        size=size,
        sha256=digest.hexdigest(),
        content_type="application/octet-stream",
    )


def order_deliver(
    *, order_id: int, user: User, message: str, files: list[UploadedFile]
) -> Delivery:
    """The seller delivers a message and files; the order moves to ``delivered``."""
    stored: list[StoredFile] = []
    try:
        with transaction.atomic():
            order = order_lock(order_id)
            actor = role_of(order, user)
            order_check(order=order, action=Action.DELIVER, actor=actor, target=State.DELIVERED)
            message = _clean_text(message, field="message", required=False)
            if not files:
                raise InvalidInput("A delivery needs at least one file.", code="no_files")
            if len(files) > settings.HANDOVER_MAX_UPLOAD_FILES:
                raise InvalidInput(
                    f"At most {settings.HANDOVER_MAX_UPLOAD_FILES} files a delivery."
                )
            for upload in files:
                stored.append(_store(order, upload))
            return _record_delivery(order, user, actor, message, stored)
    except BaseException:
        for item in stored:
            default_storage.delete(item.key)
        raise


def _record_delivery(
    order: Order, user: User, actor: Actor, message: str, stored: list[StoredFile]
) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(order=order, message=message, created_at=now)
    DeliveryFile.objects.bulk_create(
        DeliveryFile(
            delivery=delivery,
            storage_key=s.key,
            name=s.name,
            size=s.size,
            sha256=s.sha256,
            content_type=s.content_type,
        )
        for s in stored
    )
    order.last_delivered_at = now
    files = [{"name": s.name, "size": s.size, "sha256": s.sha256} for s in stored]
    order_move(
        order=order,
        action=Action.DELIVER,
        actor=actor,
        user=user,
        target=State.DELIVERED,
        payload={"delivery_id": delivery.pk, "message": message, "files": files},
    )
    return delivery


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
        event_append(
            order=order,
            type=EventType.DELIVERY_RELEASED_EARLY,
            actor=user,
            actor_role=Actor.SELLER,
            payload={"delivery_id": delivery.pk},
        )
    return delivery


@dataclass(frozen=True)
class OriginalAccess:
    file: DeliveryFile
    allowed: bool
    reason: str = ""


def buyer_may_take_originals(order: Order, delivery: Delivery) -> bool:
    """Completion releases originals; a refund or chargeback takes them back."""
    if order.state in (State.CANCELLED, State.CHARGED_BACK):
        return False
    if order.state == State.COMPLETED:
        return True
    if order.state == State.DISPUTED and order.settled_at is not None:
        return True  # a dispute after completion: nothing is revoked until support decides
    return delivery.released_early_at is not None


@transaction.atomic
def original_access(*, file_id: int, user: User, address: str, user_agent: str) -> OriginalAccess:
    """Decide whether ``user`` may download this original, and record the attempt either way."""
    file = DeliveryFile.objects.select_related("delivery__order").filter(pk=file_id).first()
    if file is None:
        raise NotFound("No such file.")
    order = file.delivery.order
    actor = role_of(order, user)
    allowed = actor != Actor.BUYER or buyer_may_take_originals(order, file.delivery)
    reason = "" if allowed else "Originals are released when the order completes."
    event_append(
        order=order,
        type=EventType.ORIGINAL_DOWNLOADED if allowed else EventType.ORIGINAL_REFUSED,
        actor=user,
        actor_role=actor,
        payload={
            "file_id": file.pk,
            "sha256": file.sha256,
            "address": address,
            "user_agent": user_agent[:300],
            "bytes": file.size if allowed else 0,
        },
    )
    return OriginalAccess(file=file, allowed=allowed, reason=reason)
