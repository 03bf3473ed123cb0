"""Sample files made on the spot, deliveries posted with them, and views of what storage and
scratch space hold."""

import io
import os
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from handover.testing.actors import Api


def stored_objects() -> set[str]:
    """Every object the file storage holds (the test's own folder or bucket prefix)."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:
        prefix = default_storage.location.rstrip("/") + "/"  # type: ignore[attr-defined]
        return {o.key.removeprefix(prefix) for o in bucket.objects.filter(Prefix=prefix)}
    root = Path(default_storage.location)  # type: ignore[attr-defined]
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def scratch_files() -> set[str]:
    """Files left in scratch space: Django's upload temp folder is the same folder."""
    root = Path(settings.HANDOVER_TMP_DIR)
    found = {str(p) for p in root.rglob("*")} if root.exists() else set()
    return found | {str(p) for p in Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*")}


def stored_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as f:
        return f.read()


def png_bytes(width: int = 640, height: int = 480, seed: int = 1) -> bytes:
    """A picture with detail everywhere, so a watermark shows against it."""
    image = Image.new("RGB", (width, height), (40 + seed % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 16):
        draw.line([(x, 0), (width - x, height)], fill=(255, 220 - seed % 100, 0), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        out, "JPEG", quality=90
    )
    return out.getvalue()


def pdf_bytes(pages: int = 5, *, noise: bool = False) -> bytes:
    """An A4 document made of page images; ``noise`` fills them with random pixels, so no
    stretch of the file's middle can occur anywhere else by chance."""
    images = []
    for n in range(pages):
        if noise:
            page = Image.frombytes("RGB", (298, 421), os.urandom(298 * 421 * 3))
        else:
            page = Image.new("RGB", (595, 842), "white")
        ImageDraw.Draw(page).text((72, 72), f"Page {n + 1} of the original", fill="black")
        images.append(page)
    out = io.BytesIO()
    resolution = 36 if noise else 72  # A4 either way
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=resolution)
    return out.getvalue()


def text_bytes(lines: int = 100) -> bytes:
    return "".join(
        f"line {n}: the original text of the work\n" for n in range(1, lines + 1)
    ).encode()


def upload(content: bytes, name: str = "work.png", content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type or "application/octet-stream")


def deliver_files(api: Api, order_id: int, *files: SimpleUploadedFile, **kwargs: Any):
    return api.post(
        f"/orders/{order_id}/deliveries",
        data={"text": "Here it is", "files": list(files)},
        **kwargs,
    )


def deliver_raw(api: Api, order_id: int, files: list[tuple[str, bytes]], **headers: str):
    """POST a delivery built by hand, so that file names arrive exactly as given (Django's
    test client shortens long names and the like before sending)."""
    boundary = "handover-test-boundary-5b1f"
    body = bytearray()
    for name, data in files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode("utf-8", "surrogateescape")
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return api.client.post(
        f"/api/v1/orders/{order_id}/deliveries",
        bytes(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={**api._headers(uuid.uuid4().hex), **headers},
    )
