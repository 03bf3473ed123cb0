"""Serving stored bytes with Range, If-Range and ETags (RFC 9110 §13-14), never whole in memory.

``serve_file`` answers a GET or HEAD for one stored file with 200, 206 (one range, or several as
``multipart/byteranges``), 304, 412 or 416, and reads the body in blocks from an opener it calls
only when a body goes out. ``accel_redirect`` hands the same download to nginx instead.
"""

import io
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol
from urllib.parse import quote

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import (
    content_disposition_header,
    http_date,
    parse_etags,
    parse_http_date_safe,
    quote_etag,
)

from handover.lib.text import BIDI_CONTROLS

BLOCK_SIZE = 256 * 1024
# RFC 9110 §14.2 lets a server ignore a Range with many ranges, overlapping or not in order: past
# this many range-specs we serve the whole file, which costs no more than a client could ask for.
MAX_RANGES = 16
# Ranges closer than this are sent as one (§14.2 allows coalescing gaps "smaller than the overhead
# of sending multiple parts"): a part's boundary and headers take about this many bytes.
COALESCE_GAP = 128
DEFAULT_CACHE_CONTROL = "private, no-store"

Disposition = Literal["attachment", "inline"]
ByteRange = tuple[int, int]  # first and last byte, both inclusive, as HTTP writes them
_Spec = tuple[int | None, int | None]  # a range-spec as written; (None, n) is the suffix "-n"

_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")
_CONTENT_TYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]*")
# Controls could end the header; bidi embeddings, overrides and marks let "invoice\u202efdp.exe"
# display as "invoiceexe.pdf". Letters of right-to-left scripts are kept.
_UNSAFE_IN_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
_FRAMING_HEADERS = frozenset(
    {"content-length", "content-range", "content-type", "transfer-encoding"}
)


class ReadableFile(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Unsatisfiable:
    """No range asked for lies inside the file: answer 416 with ``content_range``."""

    size: int

    @property
    def content_range(self) -> str:
        return f"bytes */{self.size}"


@dataclass(frozen=True)
class SentRange:
    """What a response carries, for the caller's audit row.

    ``bytes`` is the body's length (Content-Length; 0 for HEAD, 304, 412, 416), which for
    multipart/byteranges includes the part headers; ``range`` is "0-99", "0-99,500-599", or ""
    for the whole file or no body.
    """

    status: int
    bytes: int
    range: str = ""


def parse_range(header: str | None, size: int) -> list[ByteRange] | Unsatisfiable | None:
    """The byte ranges to send, None to send the whole file, or Unsatisfiable for a 416."""
    specs = _range_specs(header)
    if specs is None:
        return None
    if size == 0:
        # §14.1.2: on an empty file only a non-zero suffix ("-5") is satisfiable, and no
        # Content-Range can name the nothing it selects; §14.2 lets us ignore Range here.
        satisfiable = any(first is None and last for first, last in specs)
        return None if satisfiable else Unsatisfiable(0)
    ranges = [r for spec in specs if (r := _resolve(spec, size)) is not None]
    return _coalesce(ranges) if ranges else Unsatisfiable(size)


def _range_specs(header: str | None) -> list[_Spec] | None:
    """(first, last) per range-spec, first None for a suffix; None when the header is invalid."""
    unit, equals, range_set = (header or "").partition("=")
    if not equals or unit.strip(" \t").lower() != "bytes":
        return None
    texts = [text for element in range_set.split(",") if (text := element.strip(" \t"))]
    if not texts or len(texts) > MAX_RANGES:
        return None
    specs: list[_Spec] = []
    for text in texts:
        match = _SPEC.fullmatch(text)
        if match is None:
            return None
        first, last, suffix = match.groups()
        if suffix is not None:
            specs.append((None, int(suffix)))
        elif last and int(last) < int(first):
            return None  # §14.1.1: a last-pos below its first-pos makes the whole header invalid
        else:
            specs.append((int(first), int(last) if last else None))
    return specs


def _resolve(spec: _Spec, size: int) -> ByteRange | None:
    first, last = spec
    if first is None:  # a suffix, whose length is in last
        return (max(0, size - last), size - 1) if last else None
    if first >= size:
        return None
    return first, size - 1 if last is None else min(last, size - 1)


def _coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    """Merge overlapping and nearby ranges; the rest keep the order the client asked (§14.6)."""
    merged: list[tuple[int, int, int]] = []  # first, last, index of the earliest range merged in
    for index, (first, last) in sorted(enumerate(ranges), key=lambda pair: pair[1]):
        if merged and first <= merged[-1][1] + 1 + COALESCE_GAP:
            prev_first, prev_last, prev_index = merged[-1]
            merged[-1] = (prev_first, max(prev_last, last), min(prev_index, index))
        else:
            merged.append((first, last, index))
    return [(first, last) for first, last, _ in sorted(merged, key=lambda m: m[2])]


class RangeFile:
    """A read-only window ``[start, stop)`` onto a binary file, in the file's own offsets.

    Offsets stay those of the underlying file, so every reader agrees on them: FileResponse
    measures Content-Length as tell() after seek(0, SEEK_END) (here ``stop``) minus tell();
    gunicorn's sendfile() starts at ``os.lseek(fileno(), 0, SEEK_CUR)`` and sends Content-Length
    bytes; socket.sendfile() seeks this object to absolute offsets. Reads stop at ``stop``.
    """

    def __init__(self, file: ReadableFile, start: int, stop: int):
        self._file = file
        self.start = start
        self.stop = stop
        self._position = start
        file.seek(start)

    def read(self, size: int | None = -1) -> bytes:
        wanted = self.stop - self._position
        if size is not None and size >= 0:
            wanted = min(wanted, size)
        if wanted <= 0:
            return b""
        chunk = self._file.read(wanted)
        if not chunk:
            # Content-Length is already promised; failing makes the server drop the connection
            # rather than leave the client waiting for bytes that will never come.
            raise OSError(f"file ended at byte {self._position}, before byte {self.stop}")
        self._position += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.stop}[whence]
        self._position = min(max(base + offset, self.start), self.stop)
        self._file.seek(self._position)
        return self._position

    def tell(self) -> int:
        return self._position

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        """The underlying descriptor; raises io.UnsupportedOperation for BytesIO and the like."""
        fileno = getattr(self._file, "fileno", None)
        if fileno is None:
            raise io.UnsupportedOperation("fileno")
        return int(fileno())

    def close(self) -> None:
        self._file.close()


class _MultipartBody:
    """The multipart/byteranges body, read range by range in blocks; closing it closes the file."""

    def __init__(self, file: ReadableFile, parts: list[tuple[bytes, ByteRange]], tail: bytes):
        self._file = file
        self._parts = parts
        self._tail = tail

    def __iter__(self) -> Iterator[bytes]:
        for head, (first, last) in self._parts:
            yield head
            yield from _blocks(RangeFile(self._file, first, last + 1))
        yield self._tail

    def close(self) -> None:
        self._file.close()


def _blocks(window: RangeFile) -> Iterator[bytes]:
    return iter(lambda: window.read(BLOCK_SIZE), b"")


def serve_file(
    request: HttpRequest,
    *,
    opener: Callable[[], ReadableFile],
    size: int,
    etag: str,
    content_type: str,
    filename: str,
    disposition: Disposition = "attachment",
    extra_headers: Mapping[str, str] | None = None,
    last_modified: datetime | None = None,
) -> tuple[HttpResponseBase, SentRange]:
    """Answer a GET or HEAD for stored bytes with conditionals and Range honoured."""
    _check_arguments(size, content_type, disposition, extra_headers)
    etag = quote_etag(etag)
    validators = {**_validator_headers(etag), **(extra_headers or {})}
    refusal = _precondition_failure(request, etag, last_modified)
    if refusal is not None:
        return _bodiless(refusal, validators), SentRange(refusal, 0)
    ranges = _wanted_ranges(request, size, etag, last_modified)
    if isinstance(ranges, Unsatisfiable):
        response = _bodiless(416, validators)
        response["Content-Range"] = ranges.content_range
        return response, SentRange(416, 0)
    headers = {
        **_content_headers(content_type, filename, disposition, last_modified),
        **validators,
    }
    if request.method == "HEAD" or size == 0:
        return _headers_only(headers, size), SentRange(200, 0)
    if ranges is None:
        return _single_range(opener, (0, size - 1), size, headers, partial=False)
    if len(ranges) == 1:
        return _single_range(opener, ranges[0], size, headers, partial=True)
    return _multipart(opener, ranges, size, headers, content_type)


def accel_redirect(
    internal_path: str,
    *,
    size: int,
    etag: str,
    content_type: str,
    filename: str,
    disposition: Disposition = "attachment",
) -> HttpResponse:
    """An empty response telling nginx to serve ``internal_path`` itself, Range included.

    nginx keeps only Content-Type, Content-Disposition, Cache-Control, Expires, Set-Cookie and
    Accept-Ranges from this response; its internal location must add nosniff, and it answers
    with its own ETag. ``size`` is checked only: nginx takes the length from the file.
    """
    _check_arguments(size, content_type, disposition, None)
    if not internal_path.startswith("/") or ".." in internal_path.split("/"):
        raise ValueError(f"{internal_path!r} is not an absolute path without '..' segments")
    response = HttpResponse(content_type=content_type)
    headers = {
        **_content_headers(content_type, filename, disposition, None),
        **_validator_headers(quote_etag(etag)),
    }
    del headers["Accept-Ranges"]  # nginx's range filter adds its own
    _set_headers(response, headers)
    # nginx decodes %XX here and splits at a raw "?"; quoting keeps odd keys from doing either.
    response["X-Accel-Redirect"] = quote(internal_path, safe="/")
    return response


def _check_arguments(
    size: int, content_type: str, disposition: str, extra_headers: Mapping[str, str] | None
) -> None:
    if size < 0:
        raise ValueError(f"size {size} is negative")
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"disposition {disposition!r} is neither attachment nor inline")
    # Each multipart part repeats Content-Type in the body, where Django cannot vet it.
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValueError(f"content type {content_type!r} is not printable ASCII")
    framing = {name for name in extra_headers or {} if name.lower() in _FRAMING_HEADERS}
    if framing:
        raise ValueError(f"extra_headers may not set {sorted(framing)}: serve_file does")


def _validator_headers(etag: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": DEFAULT_CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }


def _content_headers(
    content_type: str, filename: str, disposition: str, last_modified: datetime | None
) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    display_name = _UNSAFE_IN_NAME.sub("", filename)
    value = content_disposition_header(disposition == "attachment", display_name)
    if value:
        headers["Content-Disposition"] = value
    if last_modified is not None:
        headers["Last-Modified"] = http_date(_epoch_seconds(last_modified))
    return headers


def _precondition_failure(
    request: HttpRequest, etag: str, last_modified: datetime | None
) -> int | None:
    """412 or 304 when the request's preconditions say so, in RFC 9110 §13.2.2 order."""
    modified = None if last_modified is None else _epoch_seconds(last_modified)
    if_match = request.headers.get("If-Match")
    unmodified_since = _date_header(request, "If-Unmodified-Since")
    if if_match is not None:
        if not _etag_listed(if_match, etag, weak=False):
            return 412
    elif modified is not None and unmodified_since is not None and modified > unmodified_since:
        return 412
    safe = request.method in ("GET", "HEAD")
    if_none_match = request.headers.get("If-None-Match")
    modified_since = _date_header(request, "If-Modified-Since")
    if if_none_match is not None:
        if _etag_listed(if_none_match, etag, weak=True):
            return 304 if safe else 412
    elif safe and modified is not None and modified_since is not None:
        return 304 if modified <= modified_since else None
    return None


def _date_header(request: HttpRequest, name: str) -> int | None:
    value = request.headers.get(name)
    return None if value is None else parse_http_date_safe(value)


def _etag_listed(header: str, etag: str, *, weak: bool) -> bool:
    tags = parse_etags(header)
    if tags == ["*"]:
        return True
    if weak:
        return etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}
    return not etag.startswith("W/") and etag in tags


def _wanted_ranges(
    request: HttpRequest, size: int, etag: str, last_modified: datetime | None
) -> list[ByteRange] | Unsatisfiable | None:
    # §14.2: Range is defined for GET only; a HEAD gets the headers of the whole 200.
    header = request.headers.get("Range")
    if request.method != "GET" or header is None:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and not _if_range_holds(if_range.strip(), etag, last_modified):
        return None
    return parse_range(header, size)


def _if_range_holds(value: str, etag: str, last_modified: datetime | None) -> bool:
    """§13.1.5: a strong match with the ETag, or exactly the Last-Modified date."""
    if value.startswith(('"', "W/")):
        return not etag.startswith("W/") and value == etag
    when = parse_http_date_safe(value)
    return when is not None and last_modified is not None and when == _epoch_seconds(last_modified)


def _epoch_seconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def _set_headers(response: HttpResponseBase, headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        response[name] = value


def _bodiless(status: int, headers: Mapping[str, str]) -> HttpResponse:
    response = HttpResponseNotModified() if status == 304 else HttpResponse(status=status)
    _set_headers(response, headers)
    if status != 304:
        response["Content-Length"] = "0"
    return response


def _headers_only(headers: Mapping[str, str], size: int) -> HttpResponse:
    response = HttpResponse()
    _set_headers(response, headers)
    response["Content-Length"] = str(size)
    return response


def _single_range(
    opener: Callable[[], ReadableFile],
    byte_range: ByteRange,
    size: int,
    headers: Mapping[str, str],
    *,
    partial: bool,
) -> tuple[HttpResponseBase, SentRange]:
    first, last = byte_range
    status = 206 if partial else 200
    file = opener()
    try:
        response = FileResponse(
            RangeFile(file, first, last + 1), status=status, content_type=headers["Content-Type"]
        )
    except BaseException:
        file.close()
        raise
    response.block_size = BLOCK_SIZE  # read per block by the iterator and by wsgi.file_wrapper
    _set_headers(response, headers)
    response["Content-Length"] = str(last + 1 - first)
    if not partial:
        return response, SentRange(status, size)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response, SentRange(status, last + 1 - first, f"{first}-{last}")


def _multipart(
    opener: Callable[[], ReadableFile],
    ranges: list[ByteRange],
    size: int,
    headers: Mapping[str, str],
    content_type: str,
) -> tuple[HttpResponseBase, SentRange]:
    boundary = secrets.token_hex(16)
    heads = [_part_head(boundary, content_type, r, size, first=not i) for i, r in enumerate(ranges)]
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    length = sum(map(len, heads)) + sum(last + 1 - first for first, last in ranges) + len(tail)
    body = _MultipartBody(opener(), list(zip(heads, ranges, strict=True)), tail)
    response = StreamingHttpResponse(body, status=206)
    _set_headers(response, headers)
    response["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    response["Content-Length"] = str(length)
    sent = ",".join(f"{first}-{last}" for first, last in ranges)
    return response, SentRange(206, length, sent)


def _part_head(
    boundary: str, content_type: str, byte_range: ByteRange, size: int, *, first: bool
) -> bytes:
    # The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1), not to the part.
    lead = "" if first else "\r\n"
    start, last = byte_range
    return (
        f"{lead}--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Range: bytes {start}-{last}/{size}\r\n\r\n"
    ).encode("ascii")
