from collections.abc import Iterable
from typing import Annotated, Any

from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from handover.api.errors import refusals
from handover.delivery.models import ChecklistItem, Delivery, DeliveryFile, PreviewPart
from handover.delivery.selectors import file_for, requirements_delivered
from handover.delivery.services import Tick, delivery_release_early, order_deliver
from handover.delivery.serving import original_served, originals_zip_served, preview_served
from handover.delivery.uploads import UploadSession
from handover.lib.bounds import Id, StrictId, json_parse
from handover.lib.errors import InvalidInput
from handover.orders.api import OrderDetailOut
from handover.orders.selectors import order_visible

router = Router()

# A checklist answers at most 30 requirement items with notes of 2,000 characters, each
# character six characters of JSON at worst ("\u00e9").
MAX_CHECKLIST_SIZE = 512 * 1024
# A preview part's number; its column (a PositiveSmallIntegerField) holds no larger one.
PartIndex = Annotated[int, Field(ge=0, le=32767)]


class PreviewPartOut(Schema):
    index: int
    content_type: str
    size: int
    sha256: str
    url: str

    @staticmethod
    def resolve_url(part: PreviewPart) -> str:
        return f"/api/v1/files/{part.file_id}/preview?part={part.index}"


class PreviewOut(Schema):
    state: str = Field(alias="preview_state")
    reason: str = Field(alias="preview_reason")
    info: dict[str, Any] = Field(alias="preview_info")
    parts: list[PreviewPartOut] = Field(alias="preview_parts")


class FileOut(Schema):
    id: int
    delivery_id: int
    name: str
    size: int
    sha256: str
    kind: str
    content_type: str
    preview: PreviewOut
    original_url: str

    @staticmethod
    def resolve_preview(file: DeliveryFile) -> DeliveryFile:
        return file  # PreviewOut reads the file's preview_* fields

    @staticmethod
    def resolve_original_url(file: DeliveryFile) -> str:
        return f"/api/v1/files/{file.pk}/original"


class TickOut(Schema):
    requirement: int
    question: str
    note: str
    files: list[int] = Field(description="the ids of the delivery's files that answer it")

    @staticmethod
    def resolve_files(item: ChecklistItem) -> list[int]:
        made = getattr(item, "made_files", None)  # a delivery just made: no query
        return [f.pk for f in (made if made is not None else item.files.all())]

    @staticmethod
    def resolve_question(item: ChecklistItem) -> str:
        requirements = item.delivery.order.requirements
        index = item.requirement
        return requirements[index].get("question", "") if index < len(requirements) else ""


class DeliveryOut(Schema):
    id: int
    order_id: int
    text: str = Field(alias="message")
    created_at: str
    released_early_at: str | None
    files: list[FileOut]
    checklist: list[TickOut]

    @staticmethod
    def resolve_created_at(delivery: Delivery) -> str:
        return delivery.created_at.isoformat()

    @staticmethod
    def resolve_released_early_at(delivery: Delivery) -> str | None:
        released = delivery.released_early_at
        return released.isoformat() if released else None

    @staticmethod
    def resolve_files(delivery: Delivery) -> Iterable[DeliveryFile]:
        return delivery.files.all()

    @staticmethod
    def resolve_checklist(delivery: Delivery) -> Iterable[ChecklistItem]:
        return delivery.checklist.all()


class NewPreviewOut(PreviewOut):
    """A new file's preview: being made, no parts yet (and no query to say so)."""

    @staticmethod
    def resolve_parts(file: DeliveryFile) -> list:
        return []


class NewFileOut(FileOut):
    preview: NewPreviewOut


class NewDeliveryOut(DeliveryOut):
    """A delivery just made, answered from the rows order_deliver wrote."""

    files: list[NewFileOut]  # type: ignore[assignment]

    @staticmethod
    def resolve_files(delivery: Delivery) -> Iterable[DeliveryFile]:
        return delivery.made_files

    @staticmethod
    def resolve_checklist(delivery: Delivery) -> Iterable[ChecklistItem]:
        return delivery.made_checklist


def _ticks(raw: str) -> list[Tick]:
    """The checklist form field: JSON like [{"requirement": 0, "note": "see logo.svg",
    "files": [0, 2]}], ``files`` the places (from 0) of the files that answer the item."""
    if not raw.strip():
        return []
    try:
        items = json_parse(raw, max_size=MAX_CHECKLIST_SIZE)
        if not isinstance(items, list):
            raise ValueError
        return [_tick(item) for item in items]
    except (ValueError, TypeError, KeyError):
        raise InvalidInput(
            'The checklist is a JSON list like [{"requirement": 0, "note": "...", "files": [0]}].',
            code="bad_checklist",
        ) from None


def _tick(item: Any) -> Tick:
    requirement, note, files = item["requirement"], item.get("note", ""), item.get("files", [])
    if (
        type(requirement) is not int
        or not isinstance(note, str)
        or not isinstance(files, list)
        or any(type(place) is not int for place in files)
        or set(item) - {"requirement", "note", "files"}
    ):
        raise ValueError
    return Tick(requirement=requirement, note=note, files=tuple(files))


@router.post(
    "/orders/{order_id}/deliveries", response={201: NewDeliveryOut, **refusals(411, 413, 415)}
)
def create_delivery(
    request,
    order_id: Id,
    text: Form[str] = "",
    checklist: Form[str] = "",
    files: File[list[UploadedFile] | None] = None,
):
    delivery = order_deliver(
        order_id=order_id,
        user=request.auth,
        text=text,
        files=list(files or []),
        checklist=_ticks(checklist),
    )
    session: UploadSession | None = getattr(request, "upload_session", None)
    if session is not None:
        session.claimed.update(f.storage_key for f in delivery.made_files)
    return Status(201, delivery)


@router.get("/orders/{order_id}/deliveries", response=list[DeliveryOut])
def list_deliveries(request, order_id: Id):
    order = order_visible(order_id=order_id, user=request.auth)
    deliveries = order.deliveries.select_related("order").prefetch_related(
        "files__preview_parts", "checklist__files"
    )
    return list(deliveries)


class DeliveredFileOut(Schema):
    id: int = Field(alias="file.pk")
    name: str = Field(alias="file.name")
    kind: str = Field(alias="file.kind")
    delivery_id: int = Field(alias="delivery.pk")
    note: str


class RequirementOut(Schema):
    requirement: int = Field(alias="index")
    question: str
    answer: str
    delivered: list[DeliveredFileOut]


@router.get("/orders/{order_id}/checklist", response=list[RequirementOut])
def checklist(request, order_id: Id):
    """Each requirement item beside the delivered files the seller said answer it."""
    order = order_visible(order_id=order_id, user=request.auth)
    deliveries = order.deliveries.prefetch_related("files", "checklist__files")
    return requirements_delivered(order, deliveries)


class ReleaseIn(Schema):
    delivery_id: StrictId


@router.post("/orders/{order_id}/release-early", response=OrderDetailOut)
def release_early(request, order_id: Id, payload: ReleaseIn):
    delivery_release_early(order_id=order_id, user=request.auth, delivery_id=payload.delivery_id)
    return order_visible(order_id=order_id, user=request.auth)


@router.get("/files/{file_id}", response=FileOut)
def file_detail(request, file_id: Id):
    file, _actor = file_for(file_id=file_id, user=request.auth)
    return file


# A file's bytes: Range and conditional requests answer 206, 304, 412 or 416 (no body).
BYTES = {
    "responses": {
        "200": {
            "description": "The bytes (or a redirect to them).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }
}
# HEAD is an operation of its own: one operationId each.
ORIGINAL: dict[str, Any] = {"response": refusals(403, 429), "openapi_extra": BYTES}
PREVIEW: dict[str, Any] = {"response": refusals(409), "openapi_extra": BYTES}


@router.get("/files/{file_id}/original", **ORIGINAL)
def download_original(request, file_id: Id):
    """An original: the seller and support always, the buyer once released (403 before)."""
    return original_served(request, file_id=file_id, user=request.auth)


@router.api_operation(["HEAD"], "/files/{file_id}/original", **ORIGINAL)
def download_original_head(request, file_id: Id):
    return original_served(request, file_id=file_id, user=request.auth)


@router.get("/files/{file_id}/preview", **PREVIEW)
def preview(request, file_id: Id, part: PartIndex = 0):
    """A part of a file's preview (409 while it is made, or when it could not be)."""
    return preview_served(request, file_id=file_id, user=request.auth, part=part)


@router.api_operation(["HEAD"], "/files/{file_id}/preview", **PREVIEW)
def preview_head(request, file_id: Id, part: PartIndex = 0):
    return preview_served(request, file_id=file_id, user=request.auth, part=part)


ZIP_BYTES = {
    "responses": {
        "200": {
            "description": "A ZIP archive (stored, ZIP64 past 4 GiB) of every original of the "
            "delivery, written as it is sent; each file goes on the order's record once sent.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get(
    "/deliveries/{delivery_id}/originals.zip",
    response=refusals(403, 429),
    openapi_extra=ZIP_BYTES,
)
def download_originals_zip(request, delivery_id: Id):
    """All of a delivery's originals as one ZIP: the seller and support always, the buyer
    once released (403 before, and after a refund or chargeback), as for one original."""
    return originals_zip_served(request, delivery_id=delivery_id, user=request.auth)
