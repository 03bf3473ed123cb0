from django.core.files.storage import default_storage
from django.http import FileResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import StrictInt

from handover.delivery.models import Delivery
from handover.delivery.services import delivery_release_early, order_deliver, original_access
from handover.lib.errors import PermissionDenied
from handover.orders.api import OrderOut, _answer, _visible

router = Router()


class FileOut(Schema):
    id: int
    name: str
    size: int
    sha256: str
    content_type: str


class DeliveryOut(Schema):
    id: int
    order_id: int
    message: str
    created_at: str
    released_early_at: str | None
    files: list[FileOut]


def _delivery_out(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "order_id": delivery.order_id,
        "message": delivery.message,
        "created_at": delivery.created_at.isoformat(),
        "released_early_at": (
            delivery.released_early_at.isoformat() if delivery.released_early_at else None
        ),
        "files": [
            {
                "id": f.pk,
                "name": f.name,
                "size": f.size,
                "sha256": f.sha256,
                "content_type": f.content_type,
            }
            for f in delivery.files.all()
        ],
    }


@router.post("/orders/{order_id}/deliveries", response={201: DeliveryOut})
def create_delivery(
    request, order_id: int, message: Form[str] = "", files: File[list[UploadedFile] | None] = None
):
    delivery = order_deliver(
        order_id=order_id, user=request.auth, message=message, files=list(files or [])
    )
    return Status(201, _delivery_out(delivery))


@router.get("/orders/{order_id}/deliveries", response=list[DeliveryOut])
def list_deliveries(request, order_id: int):
    order = _visible(request, order_id)
    return [_delivery_out(d) for d in order.deliveries.prefetch_related("files")]


class ReleaseIn(Schema):
    delivery_id: StrictInt


@router.post("/orders/{order_id}/release-early", response=OrderOut)
def release_early(request, order_id: int, payload: ReleaseIn):
    delivery_release_early(order_id=order_id, user=request.auth, delivery_id=payload.delivery_id)
    return _answer(request, order_id)


@router.get("/files/{file_id}/original")
def download_original(request, file_id: int):
    access = original_access(
        file_id=file_id,
        user=request.auth,
        address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )
    if not access.allowed:
        raise PermissionDenied(access.reason, code="originals_locked")
    response = FileResponse(
        default_storage.open(access.file.storage_key, "rb"),
        as_attachment=True,
        filename=access.file.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
