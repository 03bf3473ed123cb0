import email
import hashlib
import io
import itertools
import os
import re
import socket
import tracemalloc
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils.http import http_date
from gunicorn.http.wsgi import FileWrapper, Response  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from handover.lib.ranges import (
    BLOCK_SIZE,
    COALESCE_GAP,
    MAX_RANGES,
    RangeFile,
    SentRange,
    Unsatisfiable,
    accel_redirect,
    parse_range,
    serve_file,
)


@pytest.fixture(autouse=True)
def _no_end_of_request_handlers():
    """These tests serve responses outside a request cycle, without a database: closing one
    must not run Django's end-of-request handler, which checks the database connection that an
    earlier test may have left open (and that this test may not touch)."""
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_finished.connect(close_old_connections)


def pseudo_random_bytes(size: int) -> bytes:
    """Bytes that differ from offset to offset, so a read from the wrong place shows."""
    return hashlib.shake_256(str(size).encode()).digest(size)


rf = RequestFactory()
DATA = pseudo_random_bytes(10_240)
ETAG = '"' + hashlib.sha256(DATA).hexdigest() + '"'
LAST_MODIFIED = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
MiB = 1024 * 1024


def request(method="get", **headers):
    return getattr(rf, method)("/download", headers=headers)


def serve(req, data=DATA, **kwargs):
    arguments: dict[str, Any] = {
        "opener": lambda: io.BytesIO(data),
        "size": len(data),
        "etag": ETAG,
        "content_type": "application/pdf",
        "filename": "report.pdf",
    }
    return serve_file(req, **(arguments | kwargs))


def never_opened():
    raise AssertionError("the file was opened although no body goes out")


def body(response) -> bytes:
    try:
        if response.streaming:
            return b"".join(response.streaming_content)
        return response.content
    finally:
        response.close()


def parse_multipart(payload: bytes, content_type: str) -> list[tuple[int, int, bytes]]:
    """(first, last, bytes) per part, checking the framing byte for byte."""
    delimiter = b"--" + content_type.partition("boundary=")[2].encode()
    assert payload.startswith(delimiter + b"\r\n")
    position, parts = len(delimiter) + 2, []
    while True:
        header_end = payload.index(b"\r\n\r\n", position)
        lines = payload[position:header_end].decode("ascii").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines)
        assert headers["Content-Type"] == "application/pdf"
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers["Content-Range"])
        assert match
        first, last = int(match[1]), int(match[2])
        start = header_end + 4
        stop = start + last + 1 - first
        parts.append((first, last, payload[start:stop]))
        assert payload[stop : stop + 2 + len(delimiter)] == b"\r\n" + delimiter
        position = stop + 2 + len(delimiter)
        if payload[position:] == b"--\r\n":
            return parts
        assert payload[position : position + 2] == b"\r\n"
        position += 2


# --- parse_range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, [(0, 99)]),
        ("bytes=0-", 1000, [(0, 999)]),
        ("bytes=-100", 1000, [(900, 999)]),
        ("bytes=-2000", 1000, [(0, 999)]),  # a suffix longer than the file is the whole file
        ("bytes=500-99999", 1000, [(500, 999)]),  # the end is clamped to size - 1
        ("bytes=999-999", 1000, [(999, 999)]),
        ("bytes=999-", 1000, [(999, 999)]),
        ("bytes=0-0", 1, [(0, 0)]),
        ("Bytes=0-1", 10, [(0, 1)]),  # range units are case-insensitive
        (" bytes=\t0-1 ", 10, [(0, 1)]),
        ("bytes=0-1, 5000-5001", 10000, [(0, 1), (5000, 5001)]),
        ("bytes=0-1,,\t,5000-5001", 10000, [(0, 1), (5000, 5001)]),  # empty list elements
        ("bytes=5000-5001,0-1", 10000, [(5000, 5001), (0, 1)]),  # order asked is kept
        ("bytes=0-499,200-999", 10000, [(0, 999)]),  # overlapping ranges merge
        ("bytes=0-99,100-199", 10000, [(0, 199)]),  # adjacent ones too
        ("bytes=0-99,150-199", 10000, [(0, 199)]),  # and those a part header apart
        ("bytes=0-0,0-0,0-0", 10000, [(0, 0)]),
        ("bytes=-1,0-0", 10000, [(9999, 9999), (0, 0)]),
        ("bytes=9000-9099,0-99,9050-", 10000, [(9000, 9999), (0, 99)]),
        ("bytes=20000-,0-9", 10000, [(0, 9)]),  # unsatisfiable specs are dropped
        ("bytes=0-99999999999999999999999999", 10, [(0, 9)]),
        (
            "bytes=" + ",".join(f"{i * 1000}-{i * 1000}" for i in range(MAX_RANGES)),
            MAX_RANGES * 1000,
            [(i * 1000, i * 1000) for i in range(MAX_RANGES)],
        ),
        ("bytes=-5", 0, None),  # a suffix on an empty file is satisfiable: serve the whole 200
        ("bytes=0-0,-5", 0, None),
    ],
)
def test_parse_range_resolves_what_the_client_asked(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", 1000),
        ("bytes=1000-2000", 1000),
        ("bytes=-0", 1000),
        ("bytes=-0,2000-", 1000),
        ("bytes=99999999999999999999-", 1000),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-0", 0),
    ],
)
def test_parse_range_finds_nothing_to_send_for_ranges_outside_the_file(header, size):
    result = parse_range(header, size)
    assert result == Unsatisfiable(size)
    assert isinstance(result, Unsatisfiable)
    assert result.content_range == f"bytes */{size}"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes 0-1",
        "=0-1",
        "items=0-1",
        "bytes=1-0",  # last before first: the whole header is invalid
        "bytes=0-1,5-4",
        "bytes=a-b",
        "bytes=0-1;",
        "bytes=--1",
        "bytes=-",
        "bytes=0--1",
        "bytes=+1-2",
        "bytes=0 - 1",
        "bytes=1-2-3",
        "bytes=0x10-20",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits are digits to Python, not to HTTP
        "bytes=0-1\n,2-3",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 2 * (MAX_RANGES + 1), 2)),
    ],
)
def test_parse_range_ignores_a_header_it_cannot_trust(header):
    assert parse_range(header, 10000) is None


def spec_text(spec):
    first, last = spec
    if first is None:
        return f"-{last}"
    return f"{first}-" if last is None else f"{first}-{last}"


def wanted_offsets(specs, size) -> set[int]:
    """Every byte offset the specs ask for, worked out the slow way."""
    offsets: set[int] = set()
    for first, last in specs:
        if first is None:
            offsets.update(range(max(0, size - last), size) if last else ())
        else:
            end = size - 1 if last is None else min(last, size - 1)
            offsets.update(range(first, end + 1))
    return offsets


specs_strategy = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 3000), st.none()),
        st.tuples(st.none(), st.integers(0, 3000)),
        st.integers(0, 3000).flatmap(lambda a: st.tuples(st.just(a), st.integers(a, 3500))),
    ),
    min_size=1,
    max_size=6,
)
separators = st.sampled_from([",", ", ", " ,\t", ",,", " , , "])


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 3000), specs=specs_strategy, separator=separators)
def test_parsed_ranges_cover_what_was_asked_and_stay_apart(size, specs, separator):
    result = parse_range("bytes=" + separator.join(map(spec_text, specs)), size)
    wanted = wanted_offsets(specs, size)
    if not wanted:
        assert result == Unsatisfiable(size)
        return
    assert isinstance(result, list)
    assert all(0 <= first <= last < size for first, last in result)
    covered = {offset for first, last in result for offset in range(first, last + 1)}
    assert wanted <= covered
    ordered = sorted(result)
    assert all(b[0] - a[1] - 1 > COALESCE_GAP for a, b in itertools.pairwise(ordered))
    # Coalescing only fills gaps between ranges asked for: every edge is an edge that was asked.
    assert {first for first, _ in result} <= wanted
    assert {last for _, last in result} <= wanted


# --- serve_file: bodies ------------------------------------------------------------------------


def test_no_range_sends_the_whole_file_with_its_headers():
    response, sent = serve(request())
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Content-Length"] == str(len(DATA))
    assert "Content-Range" not in response
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == ETAG
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert sent == SentRange(200, len(DATA), "")


def test_one_range_sends_206_with_only_those_bytes():
    response, sent = serve(request(Range="bytes=100-199"))
    assert response.status_code == 206
    assert body(response) == DATA[100:200]
    assert response["Content-Length"] == "100"
    assert response["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert sent == SentRange(206, 100, "100-199")


def test_a_suffix_range_sends_the_last_bytes():
    response, sent = serve(request(Range="bytes=-10"))
    assert body(response) == DATA[-10:]
    assert response["Content-Range"] == f"bytes {len(DATA) - 10}-{len(DATA) - 1}/{len(DATA)}"
    assert sent.range == f"{len(DATA) - 10}-{len(DATA) - 1}"


def test_several_ranges_send_multipart_byteranges_in_the_order_asked():
    response, sent = serve(request(Range="bytes=5000-5099, 0-9"))
    assert response.status_code == 206
    assert response["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert "Content-Range" not in response
    payload = body(response)
    assert response["Content-Length"] == str(len(payload))
    parts = parse_multipart(payload, response["Content-Type"])
    assert parts == [(5000, 5099, DATA[5000:5100]), (0, 9, DATA[0:10])]
    assert sent == SentRange(206, len(payload), "5000-5099,0-9")


def test_multipart_body_reads_back_through_a_mime_parser():
    text = b"".join(b"line %04d of plain text\n" % i for i in range(400))
    response, _ = serve(request(Range="bytes=0-24,5000-5024,-25"), data=text)
    payload = body(response)
    message = email.message_from_bytes(
        b"Content-Type: " + response["Content-Type"].encode() + b"\r\n\r\n" + payload
    )
    parts = [part for part in message.walk() if part is not message]
    assert [part["Content-Range"] for part in parts] == [
        f"bytes 0-24/{len(text)}",
        f"bytes 5000-5024/{len(text)}",
        f"bytes {len(text) - 25}-{len(text) - 1}/{len(text)}",
    ]
    assert [part.get_payload(decode=True) for part in parts] == [
        text[0:25],
        text[5000:5025],
        text[-25:],
    ]


def test_overlapping_ranges_are_sent_once_as_a_single_part():
    response, sent = serve(request(Range="bytes=0-99,50-149,0-0"))
    assert response["Content-Range"] == f"bytes 0-149/{len(DATA)}"
    assert body(response) == DATA[:150]
    assert sent.range == "0-149"


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 3000), specs=specs_strategy, separator=separators)
def test_every_range_response_carries_exactly_the_bytes_it_names(size, specs, separator):
    data = pseudo_random_bytes(size)
    header = "bytes=" + separator.join(map(spec_text, specs))
    response, sent = serve(request(Range=header), data=data)
    payload = body(response)
    wanted = wanted_offsets(specs, len(data))
    assert int(response["Content-Length"]) == len(payload)
    assert (sent.status, sent.bytes) == (response.status_code, len(payload))
    if not data and any(first is None and last for first, last in specs):
        assert (response.status_code, payload) == (200, b"")
    elif not wanted:
        assert response.status_code == 416
        assert response["Content-Range"] == f"bytes */{len(data)}"
        assert payload == b""
    elif response["Content-Type"].startswith("multipart/byteranges"):
        parts = parse_multipart(payload, response["Content-Type"])
        assert len(parts) > 1
        for first, last, part in parts:
            assert part == data[first : last + 1]
        assert wanted <= {o for first, last, _ in parts for o in range(first, last + 1)}
        assert {edge for first, last, _ in parts for edge in (first, last)} <= wanted
        assert sent.range == ",".join(f"{first}-{last}" for first, last, _ in parts)
    else:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", response["Content-Range"])
        assert match
        first, last, size = map(int, match.groups())
        assert size == len(data)
        assert payload == data[first : last + 1]
        assert wanted <= set(range(first, last + 1))
        assert {first, last} <= wanted
        assert sent.range == f"{first}-{last}"


def test_unsatisfiable_range_answers_416_without_opening_the_file():
    response, sent = serve(request(Range="bytes=20000-"), opener=never_opened)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"
    assert response["ETag"] == ETAG
    assert body(response) == b""
    assert sent == SentRange(416, 0, "")


def test_an_empty_file_answers_416_to_a_range_from_its_start():
    response, _ = serve(request(Range="bytes=0-"), data=b"", opener=never_opened)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */0"


def test_an_empty_file_answers_200_to_a_suffix_range():
    response, sent = serve(request(Range="bytes=-5"), data=b"", opener=never_opened)
    assert (response.status_code, response["Content-Length"], body(response)) == (200, "0", b"")
    assert sent == SentRange(200, 0, "")


def test_an_invalid_range_is_ignored_and_the_whole_file_sent():
    response, _ = serve(request(Range="bytes=9-3"))
    assert response.status_code == 200
    assert body(response) == DATA


def test_a_file_shorter_than_its_recorded_size_fails_instead_of_sending_short():
    response, _ = serve(request(), opener=lambda: io.BytesIO(DATA[:100]))
    with pytest.raises(OSError, match="file ended at byte 100"):
        body(response)


# --- serve_file: conditionals ------------------------------------------------------------------


@pytest.mark.parametrize(
    "if_range",
    [ETAG, f"  {ETAG} ", http_date(LAST_MODIFIED.timestamp())],
    ids=["etag", "etag-with-spaces", "date"],
)
def test_if_range_that_still_holds_gets_the_range(if_range):
    req = request(Range="bytes=0-9", **{"If-Range": if_range})
    response, _ = serve(req, last_modified=LAST_MODIFIED)
    assert response.status_code == 206
    assert body(response) == DATA[:10]


@pytest.mark.parametrize(
    ("if_range", "last_modified"),
    [
        ('"stale"', LAST_MODIFIED),
        (f"W/{ETAG}", LAST_MODIFIED),  # If-Range compares strongly: a weak tag never matches
        (http_date(LAST_MODIFIED.timestamp() - 1), LAST_MODIFIED),
        (http_date(LAST_MODIFIED.timestamp() + 1), LAST_MODIFIED),  # only an exact date holds
        (http_date(LAST_MODIFIED.timestamp()), None),
        ("not a date", LAST_MODIFIED),
    ],
)
def test_if_range_that_no_longer_holds_gets_the_whole_file(if_range, last_modified):
    req = request(Range="bytes=0-9", **{"If-Range": if_range})
    response, sent = serve(req, last_modified=last_modified)
    assert response.status_code == 200
    assert body(response) == DATA
    assert sent.range == ""


@pytest.mark.parametrize(
    "if_none_match",
    [ETAG, f'"other", {ETAG}', "*", f"W/{ETAG}", f'W/"x",  W/{ETAG}'],
)
def test_if_none_match_that_matches_answers_304_without_a_body(if_none_match):
    req = request(**{"If-None-Match": if_none_match})
    response, sent = serve(req, opener=never_opened)
    assert response.status_code == 304
    assert response["ETag"] == ETAG
    assert response["Cache-Control"] == "private, no-store"
    assert "Content-Type" not in response
    assert body(response) == b""
    assert sent == SentRange(304, 0, "")


def test_if_none_match_that_does_not_match_sends_the_file():
    response, _ = serve(request(**{"If-None-Match": '"other", W/"another"'}))
    assert response.status_code == 200


def test_if_none_match_beats_range():
    req = request(Range="bytes=0-9", **{"If-None-Match": ETAG})
    assert serve(req, opener=never_opened)[0].status_code == 304


@pytest.mark.parametrize("if_match", ['"other"', f"W/{ETAG}", "garbage"])
def test_if_match_that_does_not_match_strongly_answers_412(if_match):
    response, sent = serve(request(**{"If-Match": if_match}), opener=never_opened)
    assert response.status_code == 412
    assert sent == SentRange(412, 0, "")


@pytest.mark.parametrize("if_match", [ETAG, f'"other", {ETAG}', "*"])
def test_if_match_that_matches_sends_the_file(if_match):
    assert serve(request(**{"If-Match": if_match}))[0].status_code == 200


def test_if_modified_since_not_modified_answers_304():
    since = http_date((LAST_MODIFIED + timedelta(hours=1)).timestamp())
    req = request(**{"If-Modified-Since": since})
    response, _ = serve(req, opener=never_opened, last_modified=LAST_MODIFIED)
    assert response.status_code == 304


def test_if_modified_since_is_ignored_when_if_none_match_is_present():
    since = http_date((LAST_MODIFIED + timedelta(hours=1)).timestamp())
    req = request(**{"If-Modified-Since": since, "If-None-Match": '"other"'})
    assert serve(req, last_modified=LAST_MODIFIED)[0].status_code == 200


def test_if_unmodified_since_before_the_last_change_answers_412():
    since = http_date((LAST_MODIFIED - timedelta(hours=1)).timestamp())
    req = request(**{"If-Unmodified-Since": since})
    response, _ = serve(req, opener=never_opened, last_modified=LAST_MODIFIED)
    assert response.status_code == 412


def test_last_modified_is_sent_as_an_http_date_and_naive_times_count_as_utc():
    response, _ = serve(request(), last_modified=LAST_MODIFIED.replace(tzinfo=None))
    assert response["Last-Modified"] == "Sun, 01 Jun 2025 12:30:00 GMT"
    response.close()


# --- serve_file: HEAD, headers, arguments ------------------------------------------------------


def test_head_sends_the_headers_of_get_and_never_opens_the_file():
    head, sent = serve(request("head"), opener=never_opened, last_modified=LAST_MODIFIED)
    get, _ = serve(request(), last_modified=LAST_MODIFIED)
    get.close()
    assert head.status_code == 200
    assert dict(head.items()) == dict(get.items())
    assert head.content == b""
    assert sent == SentRange(200, 0, "")


def test_head_ignores_range_as_rfc_9110_requires():
    head, _ = serve(request("head", Range="bytes=0-9"), opener=never_opened)
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(DATA))
    assert "Content-Range" not in head


def test_extra_headers_are_added_and_may_replace_cache_control():
    extra = {"Cache-Control": "private, max-age=60", "Content-Security-Policy": "sandbox"}
    response, _ = serve(request(Range="bytes=0-0"), extra_headers=extra)
    assert response["Cache-Control"] == "private, max-age=60"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Content-Length"] == "1"
    response.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"extra_headers": {"content-length": "5"}}, "may not set"),
        ({"extra_headers": {"Content-Type": "text/html"}}, "may not set"),
        ({"content_type": "text/plain\r\nX-Evil: 1"}, "not printable ASCII"),
        ({"content_type": ""}, "not printable ASCII"),
        ({"disposition": "download"}, "neither attachment nor inline"),
        ({"size": -1}, "negative"),
    ],
)
def test_serve_file_refuses_arguments_that_would_break_the_response(arguments, message):
    with pytest.raises(ValueError, match=message):
        serve(request(), **arguments)


SANITISED_NAMES = [
    ("report.pdf", "attachment", 'attachment; filename="report.pdf"'),
    ("my report 2025.pdf", "attachment", 'attachment; filename="my report 2025.pdf"'),
    ('say "hi".txt', "attachment", 'attachment; filename="say \\"hi\\".txt"'),
    ("back\\slash.txt", "attachment", 'attachment; filename="back\\\\slash.txt"'),
    ("a;b=c, d.txt", "attachment", 'attachment; filename="a;b=c, d.txt"'),
    ("café.pdf", "attachment", "attachment; filename*=utf-8''caf%C3%A9.pdf"),
    ("漢字.txt", "inline", "inline; filename*=utf-8''%E6%BC%A2%E5%AD%97.txt"),
    ("שלום.pdf", "attachment", "attachment; filename*=utf-8''%D7%A9%D7%9C%D7%95%D7%9D.pdf"),
    ("invoice\u202efdp.exe", "attachment", 'attachment; filename="invoicefdp.exe"'),
    ("a\r\nSet-Cookie: x=1.txt", "attachment", 'attachment; filename="aSet-Cookie: x=1.txt"'),
    ("tab\there.txt", "attachment", 'attachment; filename="tabhere.txt"'),
    ("report.pdf", "inline", 'inline; filename="report.pdf"'),
    ("", "attachment", "attachment"),
]


@pytest.mark.parametrize(("filename", "disposition", "expected"), SANITISED_NAMES)
def test_content_disposition_carries_the_display_name_safely(filename, disposition, expected):
    response, _ = serve(request(), filename=filename, disposition=disposition)
    response.close()
    header = response["Content-Disposition"]
    assert header == expected
    assert not set(header) & {"\r", "\n", "\u202e"}
    if filename:
        message = email.message_from_string(f"Content-Disposition: {header}\n\n")
        shown = re.sub("[\x00-\x1f\u202e]", "", filename)
        assert message.get_filename() == shown


def test_inline_without_a_name_sends_no_content_disposition():
    response, _ = serve(request(), filename="", disposition="inline")
    response.close()
    assert "Content-Disposition" not in response


# --- the window gunicorn sends from ------------------------------------------------------------


@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "stored.bin"
    path.write_bytes(DATA)
    opened = []

    def opener():
        opened.append(open(path, "rb"))  # noqa: SIM115 - the response closes it
        return opened[-1]

    return SimpleNamespace(opener=opener, opened=opened)


def test_single_range_leaves_the_descriptor_at_the_range_start(stored):
    response, _ = serve(request(Range="bytes=100-199"), opener=stored.opener)
    window = response.file_to_stream
    fd = stored.opened[0].fileno()
    assert window.fileno() == fd
    assert os.lseek(fd, 0, os.SEEK_CUR) == 100
    assert response["Content-Length"] == "100"
    assert body(response) == DATA[100:200]
    assert stored.opened[0].closed


def test_gunicorn_sendfile_puts_exactly_the_range_on_the_socket(stored, monkeypatch):
    django_response, _ = serve(request(Range="bytes=1000-2999"), opener=stored.opener)
    window = django_response.file_to_stream
    monkeypatch.setattr(window, "read", lambda *_: pytest.fail("sendfile() should send, not read"))
    server, client = socket.socketpair()
    with server, client:
        worker = Response(
            SimpleNamespace(version=(1, 1), method="GET", should_close=lambda: True),
            server,
            SimpleNamespace(is_ssl=False, sendfile=None, protocol="http"),
        )
        worker.start_response("206 Partial Content", list(django_response.items()))
        worker.write_file(FileWrapper(window, django_response.block_size))
        server.shutdown(socket.SHUT_WR)
        received = b"".join(iter(lambda: client.recv(65536), b""))
    django_response.close()
    head, _, sent_body = received.partition(b"\r\n\r\n")
    assert b"Content-Range: bytes 1000-2999/10240" in head
    assert sent_body == DATA[1000:3000]


def test_a_file_without_a_descriptor_is_read_in_blocks():
    class ObjectStoreFile:
        """Like django-storages' S3 file: read and seek, no descriptor to send from."""

        def __init__(self, data):
            self._buffer = io.BytesIO(data)
            self.reads: list[int] = []

        def read(self, size=-1):
            self.reads.append(size)
            return self._buffer.read(size)

        def seek(self, offset, whence=0):
            return self._buffer.seek(offset, whence)

        def close(self):
            self._buffer.close()

    data = os.urandom(3 * BLOCK_SIZE + 17)
    remote = ObjectStoreFile(data)
    response, _ = serve(request(Range="bytes=5-"), data=data, opener=lambda: remote)
    with pytest.raises(io.UnsupportedOperation):
        response.file_to_stream.fileno()
    assert body(response) == data[5:]
    assert max(remote.reads) <= BLOCK_SIZE
    assert -1 not in remote.reads


def test_range_file_reads_and_seeks_only_inside_its_window():
    window = RangeFile(io.BytesIO(DATA), 100, 200)
    assert (window.tell(), window.read(10)) == (100, DATA[100:110])
    assert window.seek(0, io.SEEK_END) == 200
    assert window.read() == b""
    assert window.seek(150) == 150
    assert window.read() == DATA[150:200]
    assert window.seek(-10, io.SEEK_CUR) == 190
    assert window.read(1000) == DATA[190:200]
    assert window.seek(0) == 100  # clamped to the window
    assert window.seek(10_000) == 200
    assert window.seek(120) == 120
    assert window.read(5) == DATA[120:125]


# --- memory ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fifty_megabytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "fifty.bin"
    with path.open("wb") as file:
        for _ in range(50):
            file.write(os.urandom(MiB))
    return path


@pytest.mark.parametrize(
    "range_header",
    [None, "bytes=1000000-40999999", "bytes=0-19999999,30000000-"],
    ids=["whole", "one-range", "multipart"],
)
def test_a_50_mb_file_streams_without_being_held_in_memory(fifty_megabytes, range_header):
    size = fifty_megabytes.stat().st_size
    headers = {"Range": range_header} if range_header else {}
    tracemalloc.start()
    try:
        response, sent = serve(
            request(**headers), opener=lambda: fifty_megabytes.open("rb"), size=size
        )
        streamed = hashlib.sha256()
        length = 0
        for chunk in response:
            streamed.update(chunk)
            length += len(chunk)
        response.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert length == int(response["Content-Length"]) == sent.bytes
    assert peak < 4 * MiB, f"peak {peak / MiB:.1f} MiB while streaming {length / MiB:.0f} MiB"
    if range_header is None:
        assert streamed.digest() == hashlib.sha256(fifty_megabytes.read_bytes()).digest()


# --- accel_redirect ----------------------------------------------------------------------------


def test_accel_redirect_hands_nginx_the_quoted_path_and_the_headers():
    response = accel_redirect(
        "/protected/deliveries/a b/é?x#y%.pdf",
        size=123,
        etag=ETAG,
        content_type="application/pdf",
        filename="café.pdf",
        disposition="attachment",
    )
    assert response["X-Accel-Redirect"] == "/protected/deliveries/a%20b/%C3%A9%3Fx%23y%25.pdf"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''caf%C3%A9.pdf"
    assert response["ETag"] == ETAG
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "Content-Length" not in response or response["Content-Length"] == "0"
    assert response.content == b""


def test_accel_redirect_encodes_line_breaks_instead_of_sending_them():
    response = accel_redirect(
        "/protected/x\r\nSet-Cookie: a=b",
        size=1,
        etag=ETAG,
        content_type="text/plain",
        filename="x.txt",
        disposition="inline",
    )
    assert response["X-Accel-Redirect"] == "/protected/x%0D%0ASet-Cookie%3A%20a%3Db"


@pytest.mark.parametrize("path", ["protected/x", "/protected/../etc/passwd", "/a/..", ""])
def test_accel_redirect_refuses_relative_or_climbing_paths(path):
    with pytest.raises(ValueError, match="absolute path"):
        accel_redirect(
            path, size=1, etag=ETAG, content_type="text/plain", filename="x", disposition="inline"
        )
