"""Uploads stream into storage once: hashed, sized and sniffed on the way, refused early and
completely when they break a rule."""

import hashlib
import io
import json
import tracemalloc
import uuid

import pytest
from django.conf import settings
from django.test.client import ClientHandler

from handover.delivery.models import DeliveryFile
from handover.evidence.models import Event, EventType
from handover.testing.files import (
    deliver_files,
    deliver_raw,
    png_bytes,
    scratch_files,
    stored_bytes,
    stored_objects,
    text_bytes,
    upload,
)
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage

on_s3 = settings.HANDOVER_STORAGE == "s3"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(200)


def test_delivery_streams_each_file_to_storage_with_its_hash_size_and_kind(
    seller_api, order_id, nothing_left_behind
):
    picture, notes = png_bytes(), text_bytes(10)
    delivery = ok(
        deliver_files(seller_api, order_id, upload(picture, "logo.png"), upload(notes, "notes.md")),
        201,
    )
    files = {f["name"]: f for f in delivery["files"]}
    assert files["logo.png"]["kind"] == "image"
    assert files["logo.png"]["content_type"] == "image/png"
    assert files["notes.md"]["kind"] == "text"
    for name, content in (("logo.png", picture), ("notes.md", notes)):
        assert files[name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert files[name]["size"] == len(content)
        row = DeliveryFile.objects.get(pk=files[name]["id"])
        assert row.storage_key.startswith(f"originals/{order_id}/")
        assert name not in row.storage_key  # stored under a generated key, never its name
        assert stored_bytes(row.storage_key) == content
        assert files[name]["preview"]["state"] == "pending"
    event = Event.objects.get(
        order_id=order_id, type=EventType.ORDER_TRANSITION, payload__action="deliver"
    )
    assert [f["sha256"] for f in event.payload["files"]] == [
        files["logo.png"]["sha256"],
        files["notes.md"]["sha256"],
    ]
    assert scratch_files() == set()  # nothing went through a temp file


def test_kind_comes_from_the_bytes_not_the_name_or_declared_type(seller_api, order_id):
    delivery = ok(
        deliver_files(seller_api, order_id, upload(text_bytes(3), "photo.jpg", "image/jpeg")), 201
    )
    assert delivery["files"][0]["kind"] == "text"
    assert delivery["files"][0]["content_type"].startswith("text/plain")


def test_a_path_in_the_name_is_cut_to_the_last_part(seller_api, order_id):
    delivery = ok(
        deliver_files(seller_api, order_id, upload(text_bytes(3), "../../etc/passwd")), 201
    )
    assert delivery["files"][0]["name"] == "passwd"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("invoice\u202egpj.exe", "bad_file_name"),
        ("a\x00b.txt", "bad_file_name"),
        ("x" * 256 + ".txt", "bad_file_name"),
    ],
)
def test_misleading_or_overlong_names_are_refused(
    seller_api, order_id, name, code, nothing_left_behind
):
    before = db_snapshot()
    response = deliver_raw(seller_api, order_id, [(name, png_bytes())])
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert db_snapshot() == before
    nothing_left_behind()


def test_a_refused_kind_anywhere_in_a_delivery_leaves_nothing_behind(
    seller_api, order_id, nothing_left_behind
):
    before = db_snapshot()
    response = deliver_files(
        seller_api,
        order_id,
        upload(png_bytes(), "fine.png"),
        upload(ELF, "photo.jpg", "image/jpeg"),
    )
    assert response.status_code == 415, response.content
    assert response.json()["error"] == "unsupported_type"
    assert db_snapshot() == before
    nothing_left_behind()


def test_a_file_over_the_limit_gets_413_and_leaves_nothing(
    settings, seller_api, order_id, nothing_left_behind
):
    settings.HANDOVER_MAX_FILE_SIZE = 64 * 1024
    before = db_snapshot()
    response = deliver_files(seller_api, order_id, upload(b"a" * (64 * 1024 + 1), "big.txt"))
    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert "64 KB" in response.json()["detail"]
    ok(deliver_files(seller_api, order_id, upload(b"a" * (64 * 1024), "fits.txt")), 201)
    assert DeliveryFile.objects.count() == 1
    assert before["Delivery"] == []
    nothing_left_behind_except_the_delivery = stored_objects()
    assert len(nothing_left_behind_except_the_delivery) == 1


def test_a_delivery_over_its_total_limit_gets_413(
    settings, seller_api, order_id, nothing_left_behind
):
    settings.HANDOVER_MAX_FILE_SIZE = 64 * 1024
    settings.HANDOVER_MAX_DELIVERY_SIZE = 100 * 1024
    files = [upload(b"b" * (60 * 1024), f"part{n}.txt") for n in range(2)]
    response = deliver_files(seller_api, order_id, *files)
    assert response.status_code == 413
    assert response.json()["error"] == "delivery_too_large"
    nothing_left_behind()


def test_a_body_larger_than_any_delivery_is_refused_before_it_is_read(
    settings, seller_api, order_id, nothing_left_behind
):
    settings.HANDOVER_MAX_DELIVERY_SIZE = 1024
    body = UnreadableBody(content_length=50 * 1024 * 1024)
    response = _wsgi_post(seller_api, order_id, body, boundary="x")
    assert response.status_code == 413
    assert body.bytes_read == 0
    nothing_left_behind()


def test_empty_files_are_refused(seller_api, order_id, nothing_left_behind):
    response = deliver_files(seller_api, order_id, upload(b"", "empty.txt"))
    assert response.status_code == 400
    assert response.json()["error"] == "empty_file"
    nothing_left_behind()


@pytest.mark.parametrize("who", ["stranger_api", "buyer_api", None])
def test_only_the_seller_may_upload_and_others_are_refused_before_the_body_is_read(
    request, seller_api, order_id, who, nothing_left_behind
):

    from handover.testing.actors import Api

    api = request.getfixturevalue(who) if who else Api(None)
    body = UnreadableBody(content_length=1024)
    response = _wsgi_post(api, order_id, body, boundary="x")
    assert response.status_code in {401, 404, 409}, response.content
    assert {"stranger_api": 404, "buyer_api": 409, None: 401}[who] == response.status_code
    assert body.bytes_read == 0
    nothing_left_behind()


def test_an_upload_without_a_length_gets_411_before_a_byte_is_read(
    seller_api, order_id, nothing_left_behind
):
    # Django reads a body of unknown length (chunked) as empty: a delivery without files.
    before = db_snapshot()
    body = UnreadableBody(content_length=1024)

    response = _wsgi_post(
        seller_api,
        order_id,
        body,
        boundary="x",
        CONTENT_LENGTH=None,
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411, response.content
    assert json.loads(response.content)["error"] == "length_required"
    assert "Content-Length" in json.loads(response.content)["detail"]
    assert body.bytes_read == 0
    assert db_snapshot() == before
    nothing_left_behind()


def test_form_fields_over_the_request_limit_get_413_in_the_error_shape(
    settings, seller_api, order_id, nothing_left_behind
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = db_snapshot()

    response = seller_api.post(
        f"/orders/{order_id}/deliveries",
        data={"files": [upload(png_bytes(), "logo.png")], "checklist": "[" + " " * 20_000 + "]"},
    )

    assert response.status_code == 413, response.content[:300]
    assert response.json()["error"] == "too_large"
    assert db_snapshot() == before
    nothing_left_behind()


@pytest.mark.parametrize("number", [0, 2**63, 10**30])
def test_a_delivery_to_an_order_id_out_of_range_is_404_before_a_byte_is_read(
    seller_api, number, nothing_left_behind
):
    body = UnreadableBody(content_length=1024)

    response = _wsgi_post(seller_api, number, body, boundary="x")

    assert response.status_code == 404, response.content
    assert json.loads(response.content)["error"] == "not_found"
    assert body.bytes_read == 0
    nothing_left_behind()


def test_a_retried_delivery_is_stored_once(seller_api, order_id):
    key = uuid.uuid4().hex
    first = deliver_files(seller_api, order_id, upload(png_bytes(), "a.png"), key=key)
    again = deliver_files(seller_api, order_id, upload(png_bytes(), "a.png"), key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(stored_objects()) == 1


def test_files_sent_to_a_route_that_takes_none_are_refused(buyer_api, order_id):
    # A chat message takes the buyer's reference files now: opening a dispute takes none.
    response = buyer_api.post(
        f"/orders/{order_id}/open-dispute", data={"text": "hi", "files": [upload(b"hello")]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "files_not_accepted"
    assert scratch_files() == set()


def _upload_peak(api, order_id: int, size: int) -> int:
    body = GeneratedMultipart(size)
    tracemalloc.start()
    try:
        response = _wsgi_post(api, order_id, body, boundary=body.boundary)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.content
    stored = DeliveryFile.objects.get(pk=json.loads(response.content)["files"][0]["id"])
    assert stored.size == size
    assert stored.sha256 == body.sha256.hexdigest()
    return peak


def test_memory_stays_flat_whatever_the_size_of_the_upload(seller_api, buyer_api, offer):
    from handover.testing.steps import paid_order

    small = _upload_peak(seller_api, paid_order(buyer_api, offer), 10 * 1024 * 1024)
    large = _upload_peak(seller_api, paid_order(buyer_api, offer), 100 * 1024 * 1024)
    # Local files: chunks of 1 MiB. S3: django-storages also holds one 5 MiB part and boto3
    # copies of it while sending.
    assert large < (12 if not on_s3 else 40) * 2**20, f"peak {large / 2**20:.1f} MiB"
    assert large - small < 2 * 2**20, f"{small / 2**20:.1f} MiB then {large / 2**20:.1f} MiB"


class UnreadableBody(io.RawIOBase):
    """A request body that counts what is read of it."""

    def __init__(self, content_length: int):
        self.content_length = content_length
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.content_length - self.bytes_read)
        buffer[:n] = b"\0" * n
        self.bytes_read += n
        return n


class GeneratedMultipart(io.RawIOBase):
    """A multipart body with one text file of ``size`` bytes, made as it is read."""

    boundary = "handover-boundary-7f3a"

    def __init__(self, size: int):
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size
        self.content_length = len(self.head) + size + len(self.tail)
        self.position = 0
        self.block = (b"0123456789abcdef" * 4096)[:65536]
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._next(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next(self, limit: int) -> bytes:
        head, body_end = len(self.head), len(self.head) + self.size
        if self.position < head:
            data = self.head[self.position : self.position + limit]
        elif self.position < body_end:
            data = self.block[: min(limit, len(self.block), body_end - self.position)]
            self.sha256.update(data)
        else:
            offset = self.position - body_end
            data = self.tail[offset : offset + limit]
        self.position += len(data)
        return data


def _wsgi_post(api, order_id: int, body, *, boundary: str, **extra: str | None):
    """POST a body that is never built in memory, through the full Django stack; ``extra``
    adds to the WSGI environment (None takes a variable out)."""
    environ: dict = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/v1/orders/{order_id}/deliveries",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(body.content_length),
        "wsgi.input": io.BufferedReader(body, 1024 * 1024),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if api.token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {api.token}"
    environ.update(extra)
    return ClientHandler()({k: v for k, v in environ.items() if v is not None})
