"""Delivery uploads stream straight to storage: each chunk of the request body is hashed,
sniffed, counted against the limits and written under a generated key as it arrives, so an
upload is never held whole in memory, never spooled to a temp file and never read twice.

The upload handlers here are Django's own hook for that: the interface's
``handover.api.uploads.UploadMiddleware`` sets them on a delivery's request before anything
else reads the body, so that every refusal (too large, refused kind, bad name) becomes a clear
error and every object an unfinished or refused request wrote is deleted when the request
ends. A delivery's service claims the objects it recorded; whatever is unclaimed is removed.
The buyer's reference files (with requirement answers and chat messages) take the same path,
into their own folder, under the same limits.

The delivery page posts to ``/orders/{id}/deliver/`` with the session's user. That body is
streamed the same way, but it runs before ``CsrfViewMiddleware.process_view``, so the CSRF
check is made in the stream: when the first file begins, against the fields read so far (the
form sends its token first) or the X-CSRFToken header. A request that fails it stores nothing."""

import hashlib
import io
import re
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware

from handover.delivery.kinds import Kind, Refused
from handover.delivery.sniff import Sniffer
from handover.delivery.storage import Writer, writer_open
from handover.lib.errors import HandoverError, InvalidInput
from handover.lib.text import text_check

# Shared by the uploads of a process; each upload keeps one chunk in flight at a time.
_HASHERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="upload-sha256")
CHUNK = 1024 * 1024
MAX_NAME = 255


class UploadRefused(HandoverError):
    """Raised while the body streams in; the middleware answers with it."""


class FileTooLarge(UploadRefused):
    status = 413
    code = "file_too_large"


class DeliveryTooLarge(UploadRefused):
    status = 413
    code = "delivery_too_large"


class KindRefused(UploadRefused):
    status = 415
    code = "unsupported_type"


class LengthRequired(UploadRefused):
    status = 411
    code = "length_required"


class FieldsTooLarge(UploadRefused):
    status = 413
    code = "too_large"


# What reading a multipart body may raise besides our own refusals: answered as JSON errors
# (Django's own answer to the last three is an HTML page).
FORM_REFUSALS = (
    HandoverError,
    MultiPartParserError,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)


class IngestedFile(UploadedFile):
    """An uploaded file already in storage: what the service records, never its bytes."""

    def __init__(self, *, key: str, name: str, size: int, sha256: str, kind: Kind, mime: str):
        super().__init__(file=None, name=name, content_type=mime, size=size)
        self.name: str = name
        self.size: int = size
        self.key = key
        self.sha256 = sha256
        self.kind = kind

    def open(self, *args, **kwargs):  # pragma: no cover - nothing should read it back
        raise ValueError("An ingested file is in storage; read it through its key.")

    def close(self) -> None:
        pass  # nothing is open: the bytes are in storage


@dataclass
class UploadSession:
    """The objects one request wrote; those not claimed are deleted when it ends."""

    order_id: int
    # Where its files are stored (``originals/<order>`` unless told), and what the limits'
    # messages call one request's files.
    folder: str = ""
    noun: str = "delivery"
    written: list[str] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)
    total: int = 0
    files: int = 0

    def discard_unclaimed(self, delete: Callable[[str], None]) -> None:
        for key in self.written:
            if key not in self.claimed:
                delete(key)
        self.written = [k for k in self.written if k in self.claimed]


def file_name_check(name: str) -> str:
    """The uploaded name as display text; a name that could mislead a reader is refused."""
    name_characters_check(name)
    name = name.strip()
    if not name.strip("."):
        raise InvalidInput("A file needs a name.", code="bad_file_name")
    return name


def name_characters_check(name: str) -> None:
    # No control character either: a name is one line, shown in lists and headers.
    text_check(
        name, field="file name", limit=MAX_NAME, required=False, one_line=True, code="bad_file_name"
    )


class FilesNotAccepted(InvalidInput, BadRequest):
    """A BadRequest too, so that outside the API Django answers 400 rather than 500."""


class StrictNameParser(MultiPartParser):
    """Django quietly drops unprintable characters from file names; a name that carries
    them was made to mislead, so it is refused instead."""

    def sanitize_file_name(self, file_name):
        # A part named "" or ".." is dropped by Django, as before: the delivery has no file.
        name_characters_check(file_name.replace("\\", "/").rsplit("/", 1)[-1])
        return super().sanitize_file_name(file_name)


class BodyStart(io.RawIOBase):
    """The request body as Django's parser reads it, keeping the bytes read until the first
    file begins: the fields sent before the files are in them (and Django refuses more than
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` of fields anyway)."""

    def __init__(self, stream: Any):
        super().__init__()
        self.stream = stream
        self.kept = bytearray()
        self.keeping = True
        self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 2 * CHUNK

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self.stream.read(size)
        if self.keeping:
            self.kept += data[: max(0, self.limit - len(self.kept))]
        return data


class FieldsOnly(FileUploadHandler):
    """Ends a parse where the first file begins."""

    def new_file(self, *args, **kwargs):
        raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):  # pragma: no cover - new_file stops
        return None

    def file_complete(self, file_size):  # pragma: no cover
        return None


def fields_before_files(
    META: dict[str, Any], start: bytes, boundary: bytes, encoding: str | None
) -> QueryDict:
    """The fields in ``start``, the beginning of a multipart body, up to its first file:
    Django's parser reads them from those bytes closed by the final boundary."""
    body = start + b"\r\n--" + boundary + b"--\r\n"
    meta = {**META, "CONTENT_LENGTH": str(len(body))}
    try:
        fields, _files = MultiPartParser(meta, io.BytesIO(body), [FieldsOnly()], encoding).parse()
    except FORM_REFUSALS:
        return QueryDict(mutable=True)
    return fields.copy()


class NoFilesHandler(FileUploadHandler):
    """The default for every request: only a delivery takes files."""

    def new_file(self, *args, **kwargs):
        raise FilesNotAccepted("This request takes no files.", code="files_not_accepted")

    def receive_data_chunk(self, raw_data, start):  # pragma: no cover - new_file refuses
        return None

    def file_complete(self, file_size):  # pragma: no cover
        return None


class FileIngest:
    """One file on its way into storage: counted, sniffed, hashed and written chunk by chunk."""

    def __init__(self, session: UploadSession, name: str):
        self.session = session
        self.session.files += 1
        if self.session.files > settings.HANDOVER_MAX_UPLOAD_FILES:
            limit = settings.HANDOVER_MAX_UPLOAD_FILES
            raise InvalidInput(f"At most {limit} files a {session.noun}.")
        self.name = file_name_check(name)
        folder = session.folder or f"originals/{session.order_id}"
        self.key = f"{folder}/{uuid.uuid4().hex}"
        self.digest = hashlib.sha256()
        self.sniffer = Sniffer()
        self.size = 0
        self.hashing: Future | None = None
        session.written.append(self.key)
        self.writer: Writer | None = writer_open(self.key)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.session.total += len(chunk)
        if self.size > settings.HANDOVER_MAX_FILE_SIZE:
            raise FileTooLarge(_limit_text("A file", settings.HANDOVER_MAX_FILE_SIZE))
        if self.session.total > settings.HANDOVER_MAX_DELIVERY_SIZE:
            what = f"A {self.session.noun}"
            raise DeliveryTooLarge(_limit_text(what, settings.HANDOVER_MAX_DELIVERY_SIZE))
        try:
            self.sniffer.feed(chunk)
        except Refused as refused:
            raise _refusal(refused) from None
        # SHA-256 is the largest cost of an upload. hashlib lets go of the GIL for large
        # buffers, so the chunk is hashed on another core while this thread writes it and
        # the parser reads the next one; chunks are still hashed in order, one at a time.
        self._hashed()
        self.hashing = _HASHERS.submit(self.digest.update, chunk)
        assert self.writer is not None
        self.writer.write(chunk)

    def _hashed(self) -> None:
        if self.hashing is not None:
            self.hashing.result()
            self.hashing = None

    def finish(self) -> IngestedFile:
        try:
            sniffed = self.sniffer.finish()
        except Refused as refused:
            raise _refusal(refused) from None
        self._hashed()
        assert self.writer is not None
        self.writer.commit()
        self.writer = None
        return IngestedFile(
            key=self.key,
            name=self.name,
            size=self.size,
            sha256=self.digest.hexdigest(),
            kind=sniffed.kind,
            mime=sniffed.mime,
        )

    def abort(self) -> None:
        if self.hashing is not None:
            self.hashing.cancel()
            self.hashing = None
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


def files_ingest(session: UploadSession, uploads: list[UploadedFile]) -> list[IngestedFile]:
    """Files that are already in hand (the demo, the CLI, tests) take the same way in as an
    upload; the caller discards the session's unclaimed objects afterwards."""
    ingested = []
    for upload in uploads:
        if isinstance(upload, IngestedFile):
            ingested.append(upload)
            continue
        ingest = FileIngest(session, upload.name or "")
        try:
            for chunk in upload.chunks(CHUNK):
                ingest.write(chunk)
            ingested.append(ingest.finish())
        except BaseException:
            ingest.abort()
            raise
    return ingested


DELIVERY_FILES = re.compile("files")
# A chat message's files, or each requirement answer's (files_0 answers the first question).
REFERENCE_FILES = re.compile("files(_[0-9]{1,4})?")


class DeliveryUploadHandler(FileUploadHandler):
    """Streams a request's files into ``session``. ``precheck`` (the service's own checks of
    who may send files there) runs when the first file begins, before a byte is stored."""

    chunk_size = CHUNK

    def __init__(
        self,
        request: HttpRequest,
        session: UploadSession,
        *,
        file_fields: re.Pattern[str] = DELIVERY_FILES,
        precheck: Callable[[], None] | None = None,
    ):
        super().__init__(request)
        self.session = session
        self.file_fields = file_fields
        self.precheck = precheck
        self.ingest: FileIngest | None = None
        self.parser: StrictNameParser | None = None
        self.fields: QueryDict | None = None
        self.start = BodyStart(None)  # the body's reader, once the parse begins
        self.raw: tuple[dict[str, Any], bytes, str | None] = ({}, b"", None)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        """Django's own hook for taking over the parse: the body is read by Django's parser,
        stricter about file names, with this handler alone."""
        if self.parser is not None:
            return None  # asked again by that parser: it goes on and parses
        # The form's own fields take a little room beside the files.
        if content_length > settings.HANDOVER_MAX_DELIVERY_SIZE + 1024 * 1024:
            what = f"A {self.session.noun}"
            raise DeliveryTooLarge(_limit_text(what, settings.HANDOVER_MAX_DELIVERY_SIZE))
        self.start = BodyStart(input_data)
        self.raw = (META, boundary, encoding)
        self.parser = StrictNameParser(META, self.start, [self], encoding)
        return self.parser.parse()

    def fields_read(self) -> QueryDict:
        """The form's fields sent before the files."""
        if self.parser is None:
            return QueryDict(mutable=True)
        if self.fields is None:
            self.start.keeping = False
            META, boundary, encoding = self.raw
            self.fields = fields_before_files(META, bytes(self.start.kept), boundary, encoding)
        return self.fields.copy()

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.start.keeping = False  # the fields before the files are all in it
        if self.precheck is not None:
            self.precheck()
            self.precheck = None
        if not self.file_fields.fullmatch(field_name):
            raise InvalidInput("Send the files in the field 'files'.", code="files_field")
        self.ingest = FileIngest(self.session, file_name)

    def receive_data_chunk(self, raw_data, start):
        assert self.ingest is not None
        self.ingest.write(raw_data)
        return None

    def file_complete(self, file_size):
        assert self.ingest is not None
        ingested = self.ingest.finish()
        self.ingest = None
        return ingested

    def upload_interrupted(self):
        self.abort()

    def abort(self) -> None:
        if self.ingest is not None:
            self.ingest.abort()
            self.ingest = None


class RetryUploadHandler(DeliveryUploadHandler):
    """A retry with an Idempotency-Key already used: count the files, store nothing."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        FileUploadHandler.new_file(self, field_name, file_name, *args, **kwargs)
        self.start.keeping = False
        self.size = 0
        self.digest = hashlib.sha256()  # the fingerprint covers the bytes, not only the size

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        self.digest.update(raw_data)
        return None

    def file_complete(self, file_size):
        return IngestedFile(
            key="",
            name=file_name_check(self.file_name or ""),
            size=self.size,
            sha256=self.digest.hexdigest(),
            kind=Kind.OTHER,
            mime="",
        )


class CsrfRefused(Exception):
    """The page's upload failed Django's CSRF check; ``response`` is Django's 403."""

    def __init__(self, response: HttpResponse):
        super().__init__("CSRF check failed")
        self.response = response


class WebDeliveryUploadHandler(DeliveryUploadHandler):
    """A page's upload: before the first byte of the first file is stored, the request passes
    Django's own CSRF check and ``precheck`` (by default the check ``order_deliver`` makes)."""

    def __init__(
        self,
        request: HttpRequest,
        session: UploadSession,
        *,
        user,
        file_fields: re.Pattern[str] = DELIVERY_FILES,
        precheck: Callable[[], None] | None = None,
    ):
        super().__init__(request, session, file_fields=file_fields, precheck=precheck)
        self.user = user
        self.checked = False

    def new_file(self, field_name, file_name, *args, **kwargs):
        if not self.checked:
            self._csrf_check()
            if self.precheck is None:
                from handover.delivery.selectors import delivery_precheck

                delivery_precheck(order_id=self.session.order_id, user=self.user)
            self.checked = True
        super().new_file(field_name, file_name, *args, **kwargs)

    def _csrf_check(self) -> None:
        # CsrfViewMiddleware reads the token from request.POST, which is being parsed: it is
        # shown the fields read so far (the token among them). The parse's result replaces
        # them once the body has been read.
        request: Any = self.request
        request.POST = self.fields_read()
        refusal = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
            request, _no_view, (), {}
        )
        if refusal is not None:
            raise CsrfRefused(refusal)


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    """Stands for the page's view in the CSRF check: like it, not exempt."""
    raise NotImplementedError


def _limit_text(what: str, limit: int) -> str:
    return f"{what} may be at most {_human_size(limit)}."


def _refusal(refused: Refused) -> UploadRefused:
    if refused.code == "empty_file":
        return UploadRefused(refused.detail, code="empty_file")
    return KindRefused(refused.detail, code=refused.code)


def _human_size(size: int) -> str:
    for unit, factor in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def upload_refusal(error: Exception) -> HandoverError:
    """A parsing failure as the error the caller is shown."""
    if isinstance(error, HandoverError):
        return error
    if isinstance(error, RequestDataTooBig):
        limit = _human_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return FieldsTooLarge(f"A form's fields, files aside, may be at most {limit}.")
    return InvalidInput(f"The form could not be read: {error}", code="bad_multipart")


def upload_handlers_set(request: HttpRequest, handler: DeliveryUploadHandler) -> None:
    """Have the request's body parsed by ``handler`` alone, into its session."""
    request.upload_handlers = [handler]
    request.upload_session = handler.session  # type: ignore[attr-defined]
