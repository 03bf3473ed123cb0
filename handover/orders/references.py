"""Reference files: what the buyer sends the seller to work from (footage, photos, brand
files) with a requirement answer or a chat message. They are the buyer's own files, not work
under escrow, so the seller reads them at once, whole. Their bytes come in through the
delivery's upload path (streamed, hashed, sniffed, size-limited: ``delivery.uploads``);
here they are recorded, each with its hash on the event that brought it.

Only the buyer attaches files: a seller's file in the chat would be work handed over outside
a delivery, without previews and before the money is released."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from handover.accounts.models import User
from handover.lib.errors import InvalidInput, PermissionDenied
from handover.orders.models import Attachment, Message, Order
from handover.orders.rules import Actor


class StoredFile(Protocol):
    """A file already in storage under ``key`` (``delivery.uploads.IngestedFile``); read only."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def sha256(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def content_type(self) -> str | None: ...


class AttachmentsRefused(PermissionDenied):
    code = "attachments_buyer_only"


def attachments_check(actor: Actor, count: int) -> None:
    """Refuse files from anyone but the buyer, and more than an upload may carry."""
    if count and actor != Actor.BUYER:
        raise AttachmentsRefused(
            "Only the buyer attaches files here; a seller sends work as a delivery, "
            "where the buyer sees previews until the order completes."
        )
    if count > settings.HANDOVER_MAX_UPLOAD_FILES:
        raise InvalidInput(
            f"At most {settings.HANDOVER_MAX_UPLOAD_FILES} files at once.", code="too_many_files"
        )


def answer_files_check(files: Mapping[int, Sequence[StoredFile]], questions: int) -> None:
    """Each group of files answers one of the order's requirement questions."""
    for index in files:
        if not 0 <= index < questions:
            raise InvalidInput(
                f"There is no requirement {index}: this order has {questions}, numbered from 0.",
                code="bad_requirement",
            )


def attachments_record(
    *,
    order: Order,
    user: User,
    files: Sequence[StoredFile],
    message: Message | None = None,
    requirement: int | None = None,
) -> list[dict[str, Any]]:
    """Write the files' rows; returns what the event that brought them records of each."""
    now = timezone.now()
    rows = Attachment.objects.bulk_create(
        Attachment(
            order=order,
            uploaded_by=user,
            message=message,
            requirement=requirement,
            storage_key=f.key,
            name=f.name or "",
            size=f.size or 0,
            sha256=f.sha256,
            kind=str(f.kind),
            content_type=f.content_type or "application/octet-stream",
            created_at=now,
        )
        for f in files
    )
    return [attachment_entry(row) for row in rows]


def attachment_entry(row: Attachment) -> dict[str, Any]:
    """One file as the record states it (the events, the evidence bundle)."""
    entry = {
        "id": row.pk,
        "name": row.name,
        "size": row.size,
        "sha256": row.sha256,
        "kind": row.kind,
        "type": row.content_type,
    }
    if row.requirement is not None:
        entry["requirement"] = row.requirement
    return entry


def answers_record(
    *, order: Order, user: User, files: Mapping[int, Sequence[StoredFile]]
) -> list[dict[str, Any]]:
    """The files sent with the requirement answers, by the question each answers."""
    entries = []
    for index in sorted(files):
        entries += attachments_record(order=order, user=user, files=files[index], requirement=index)
    return entries
