"""A delivered file's bytes, and a buyer's reference file's, over HTTP, for the API's routes
and the order page's links alike: the access rule, the fastest way the deployment has to send
them, and the record of it."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    HttpRequest,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header

from handover.accounts.models import User
from handover.delivery.archive import archive_stream, originals_archive
from handover.delivery.selectors import attachment_for
from handover.delivery.services import (
    Visit,
    attachment_served_record,
    file_served_record,
    original_access,
    preview_part_for,
)
from handover.delivery.storage import presigned_url
from handover.lib.ranges import Disposition, SentRange, accel_redirect, serve_file

# Bytes a party uploaded must never run as a page of ours: no sniffing, no scripts, no frames.
ORIGINAL_CSP = "default-src 'none'; sandbox"
# A text preview is HTML we made (Pygments, inline styles): it may style itself, no more.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; sandbox"
)


def _visit(request: HttpRequest, user: User) -> Visit:
    return Visit(
        user=user,
        address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )


def original_served(request: HttpRequest, *, file_id: int, user: User) -> HttpResponseBase:
    """An original's bytes for ``user`` (a bearer token's or the page's session's), under
    ``original_access``'s rule, and the download on the order's record."""
    visit = _visit(request, user)
    file = original_access(file_id=file_id, visit=visit)
    response, sent = _bytes_response(
        request,
        key=file.storage_key,
        size=file.size,
        sha256=file.sha256,
        content_type=file.content_type,
        name=file.name,
        disposition="attachment",
        csp=ORIGINAL_CSP,
    )
    file_served_record(file=file, visit=visit, sent=sent)
    return response


def originals_zip_served(
    request: HttpRequest, *, delivery_id: int, user: User
) -> StreamingHttpResponse:
    """Every original of a delivery as one ZIP, written as it is sent (``delivery.archive``),
    under the single original's access rule, each file on the order's record once sent."""
    visit = _visit(request, user)
    archive = originals_archive(delivery_id=delivery_id, visit=visit)
    response = StreamingHttpResponse(archive_stream(archive, visit), content_type="application/zip")
    response["Content-Length"] = str(archive.length)
    response["Content-Disposition"] = content_disposition_header(True, archive.filename) or ""
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = ORIGINAL_CSP
    # nginx in front would otherwise read ahead into a temp file (up to 1 GiB by default):
    # memory and disk stay flat, and the record tells what went to the client, not to nginx.
    response["X-Accel-Buffering"] = "no"
    return response


def attachment_served(
    request: HttpRequest, *, order_id: int, attachment_id: int, user: User
) -> HttpResponseBase:
    """A reference file's bytes for a party or support, whole and at once (the buyer's own
    file, not work under escrow), and the download on the order's record."""
    visit = _visit(request, user)
    attachment, actor = attachment_for(attachment_id=attachment_id, order_id=order_id, user=user)
    response, sent = _bytes_response(
        request,
        key=attachment.storage_key,
        size=attachment.size,
        sha256=attachment.sha256,
        content_type=attachment.content_type,
        name=attachment.name,
        disposition="attachment",
        csp=ORIGINAL_CSP,
    )
    attachment_served_record(attachment=attachment, actor=actor, visit=visit, sent=sent)
    return response


def preview_served(
    request: HttpRequest, *, file_id: int, user: User, part: int
) -> HttpResponseBase:
    """One part of a file's preview for ``user``, and the view on the order's record."""
    visit = _visit(request, user)
    file, preview_part = preview_part_for(file_id=file_id, user=visit.user, index=part)
    response, sent = _bytes_response(
        request,
        key=preview_part.storage_key,
        size=preview_part.size,
        sha256=preview_part.sha256,
        content_type=preview_part.content_type,
        name=f"preview-{preview_part.index + 1}-{file.name}{_suffix(preview_part.storage_key)}",
        disposition="inline",
        csp=PREVIEW_CSP,
    )
    file_served_record(file=file, visit=visit, sent=sent, part=preview_part)
    return response


def _suffix(key: str) -> str:
    tail = key.rsplit("/", 1)[-1]
    return "." + tail.rsplit(".", 1)[-1] if "." in tail else ""


def _bytes_response(
    request: HttpRequest,
    *,
    key: str,
    size: int,
    sha256: str,
    content_type: str,
    name: str,
    disposition: Disposition,
    csp: str,
) -> tuple[HttpResponseBase, SentRange]:
    """The bytes of a stored file, by the fastest way the deployment has: a short-lived S3
    link, nginx (X-Accel-Redirect), or the app itself with Range and ETag."""
    etag = f'"{sha256}"'
    requested = request.headers.get("Range", "")
    if getattr(default_storage, "bucket", None) is not None:
        url = presigned_url(key, name=name, content_type=content_type, disposition=disposition)
        response: HttpResponseBase = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response, SentRange(status=302, bytes=0, range=requested)
    if settings.HANDOVER_ACCEL_REDIRECT:
        accel = accel_redirect(
            settings.HANDOVER_ACCEL_REDIRECT.rstrip("/") + "/" + key,
            size=size,
            etag=etag,
            content_type=content_type,
            filename=name,
            disposition=disposition,
        )
        accel["Content-Security-Policy"] = csp
        return accel, SentRange(status=accel.status_code, bytes=size, range=requested)
    return serve_file(
        request,
        opener=lambda: default_storage.open(key, "rb"),
        size=size,
        etag=etag,
        content_type=content_type,
        filename=name,
        disposition=disposition,
        extra_headers={"Content-Security-Policy": csp},
    )
