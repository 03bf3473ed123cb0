"""Who gets which bytes: previews for the parties and support, originals for the seller and
support always and for the buyer only once released; every view and download on record."""

import re
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from handover.delivery.models import DeliveryFile
from handover.evidence.models import Event, EventType
from handover.testing.files import jpeg_bytes, pdf_bytes, png_bytes, text_bytes, upload
from handover.testing.steps import decide, ok, open_dispute

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage

on_s3 = settings.HANDOVER_STORAGE == "s3"
# The standard tables every JPEG encoder writes, a PDF's page images included.
JPEG_TABLES = jpeg_bytes(16, 16)
# A JPEG marker: 0xFF then anything but a stuffed zero. Bytes around one (the end of a table,
# a scan header, the first coded byte of a flat corner) are the same in any JPEG of that
# kind, so a window that holds one says nothing about where the body came from.
JPEG_MARKER = re.compile(rb"\xff[\x01-\xfe]")


def body_of(response) -> bytes:
    """What the client ends up with: the bytes, following a storage redirect if there is one."""
    if response.status_code == 302:
        with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
            return fetched.read()
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def picture() -> bytes:
    return png_bytes(900, 700, seed=7)


@pytest.fixture
def delivered_picture(delivered, picture) -> dict:
    return delivered(upload(picture, "Logo final é.png"))["files"][0]


def test_parties_and_support_see_previews_and_strangers_get_404(
    delivered_picture, buyer_api, seller_api, support_api, stranger_api
):
    file_id = delivered_picture["id"]
    for api in (buyer_api, seller_api, support_api):
        response = api.get(f"/files/{file_id}/preview")
        assert response.status_code in (200, 302), response
        assert body_of(response)[:3] == b"\xff\xd8\xff"  # the JPEG preview
    for path in (f"/files/{file_id}", f"/files/{file_id}/preview", f"/files/{file_id}/original"):
        assert stranger_api.get(path).status_code == 404
    assert Event.objects.filter(type=EventType.PREVIEW_VIEWED).count() == 3


def test_file_detail_shows_the_preview_state_and_parts(delivered_picture, buyer_api):
    detail = ok(buyer_api.get(f"/files/{delivered_picture['id']}"))
    assert detail["preview"]["state"] == "ready"
    assert detail["preview"]["info"]["width"] == 900
    [part] = detail["preview"]["parts"]
    assert part["content_type"] == "image/jpeg"
    assert part["url"] == f"/api/v1/files/{detail['id']}/preview?part=0"


def test_a_pending_preview_answers_409(seller_api, buyer_api, order_id, picture):
    from handover.testing.files import deliver_files

    file_id = ok(deliver_files(seller_api, order_id, upload(picture)), 201)["files"][0]["id"]
    response = buyer_api.get(f"/files/{file_id}/preview")
    assert response.status_code == 409
    assert response.json()["error"] == "preview_pending"


def test_the_buyer_gets_the_original_only_after_completion(
    delivered_picture, buyer_api, order_id, picture
):
    file_id = delivered_picture["id"]
    locked = buyer_api.get(f"/files/{file_id}/original")
    assert locked.status_code == 403
    assert locked.json()["error"] == "originals_locked"
    refused = Event.objects.get(type=EventType.ORIGINAL_REFUSED)
    assert refused.payload["file_id"] == file_id

    ok(buyer_api.act(order_id, "accept"))
    response = buyer_api.get(
        f"/files/{file_id}/original", headers={"User-Agent": "TestBrowser/1.0"}
    )
    assert body_of(response) == picture
    event = Event.objects.get(type=EventType.ORIGINAL_DOWNLOADED)
    assert event.actor_role == "buyer"
    # Support's to read: sealed in the event, the values beside it (evidence.visibility).
    assert event.sealed.values == {"address": "127.0.0.1", "user_agent": "TestBrowser/1.0"}
    assert "address" not in event.payload and "sealed" in event.payload
    assert event.payload["sha256"] == delivered_picture["sha256"]
    if not on_s3:
        assert event.payload["bytes"] == len(picture)
        assert event.payload["status"] == 200
        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''Logo%20final%20%C3%A9.png"
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]


def test_seller_and_support_always_get_the_original(
    delivered_picture, seller_api, support_api, picture
):
    for api in (seller_api, support_api):
        assert body_of(api.get(f"/files/{delivered_picture['id']}/original")) == picture


def test_release_early_opens_that_delivery_only(delivered, seller_api, buyer_api, order_id):
    first = delivered(upload(png_bytes(seed=1), "one.png"))
    ok(buyer_api.act(order_id, "request-revision", {"text": "Bluer"}))
    second = delivered(upload(png_bytes(seed=2), "two.png"))
    ok(seller_api.act(order_id, "release-early", {"delivery_id": first["id"]}))
    assert body_of(buyer_api.get(f"/files/{first['files'][0]['id']}/original"))[:4] == b"\x89PNG"
    assert buyer_api.get(f"/files/{second['files'][0]['id']}/original").status_code == 403


def test_a_refund_ends_the_buyers_access(delivered_picture, buyer_api, support_api, order_id):
    ok(buyer_api.act(order_id, "accept"))
    assert buyer_api.get(f"/files/{delivered_picture['id']}/original").status_code in (200, 302)
    decide(support_api, open_dispute(buyer_api, order_id), "refund")
    response = buyer_api.get(f"/files/{delivered_picture['id']}/original")
    assert response.status_code == 403
    assert response.json()["error"] == "originals_locked"


@pytest.mark.skipif(on_s3, reason="S3 answers ranges itself, behind the redirect")
def test_ranges_etag_and_conditionals_on_originals(delivered_picture, seller_api, picture):
    path = f"/files/{delivered_picture['id']}/original"
    etag = f'"{delivered_picture["sha256"]}"'
    part = seller_api.get(path, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206
    assert body_of(part) == picture[10:110]
    assert part["Content-Range"] == f"bytes 10-109/{len(picture)}"
    assert part["ETag"] == etag
    tail = seller_api.get(path, headers={"Range": "bytes=-16"})
    assert body_of(tail) == picture[-16:]
    stale = seller_api.get(path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200
    assert body_of(stale) == picture
    assert seller_api.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert seller_api.get(path, headers={"Range": f"bytes={len(picture)}-"}).status_code == 416
    ranges = [
        e.payload["range"]
        for e in Event.objects.filter(type=EventType.ORIGINAL_DOWNLOADED).order_by("id")
    ]
    assert ranges[:2] == ["10-109", f"{len(picture) - 16}-{len(picture) - 1}"]


@pytest.mark.skipif(on_s3, reason="X-Accel-Redirect is for files on the app's own disk")
def test_behind_nginx_the_bytes_are_handed_off(settings, delivered_picture, seller_api):
    settings.HANDOVER_ACCEL_REDIRECT = "/_handover_files/"
    response = seller_api.get(f"/files/{delivered_picture['id']}/original")
    key = DeliveryFile.objects.get(pk=delivered_picture["id"]).storage_key
    assert response["X-Accel-Redirect"] == f"/_handover_files/{key}"
    assert response.content == b""


@pytest.mark.skipif(not on_s3, reason="presigned links exist only with S3 storage")
def test_on_s3_downloads_are_short_lived_presigned_links(delivered_picture, seller_api, picture):
    response = seller_api.get(f"/files/{delivered_picture['id']}/original")
    assert response.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read() == picture
        assert "Logo" in fetched.headers["Content-Disposition"]


def fetched_headers(response) -> dict[str, str]:
    """The headers the storage server answers a presigned link with."""
    assert response.status_code == 302, response.content[:200]
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        fetched.read()
        return {name.lower(): value for name, value in fetched.headers.items()}


@pytest.mark.skipif(not on_s3, reason="presigned links exist only with S3 storage")
@pytest.mark.parametrize(
    ("name", "content", "served_as"),
    [
        ("page.html", b"<!doctype html><html><body><script>alert(1)</script></body></html>", None),
        (
            "icon.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            None,
        ),
        ("logo.png", png_bytes(40, 30), "image/png"),
    ],
)
def test_on_s3_an_original_that_could_run_is_served_as_opaque_bytes(
    delivered, seller_api, name, content, served_as
):
    file = delivered(upload(content, name))["files"][0]

    headers = fetched_headers(seller_api.get(f"/files/{file['id']}/original"))

    assert headers["content-type"] == (served_as or "application/octet-stream")
    assert headers["content-disposition"].startswith("attachment;")
    assert name in headers["content-disposition"]
    assert headers["cache-control"] == "private, no-store"


@pytest.mark.skipif(not on_s3, reason="presigned links exist only with S3 storage")
def test_on_s3_a_preview_is_shown_inline_and_never_cached(delivered_picture, buyer_api):
    headers = fetched_headers(buyer_api.get(f"/files/{delivered_picture['id']}/preview"))

    assert headers["content-type"] == "image/jpeg"
    assert headers["content-disposition"].startswith("inline;")
    assert headers["cache-control"] == "private, no-store"


def test_the_originals_bytes_never_reach_the_buyer_before_completion(
    delivered, buyer_api, order_id
):

    picture, document, notes = (
        png_bytes(1200, 900, seed=3),
        pdf_bytes(4, noise=True),
        text_bytes(200),
    )
    files = delivered(upload(picture, "a.png"), upload(document, "b.pdf"), upload(notes, "c.txt"))[
        "files"
    ]
    ids = [f["id"] for f in files]
    held_back = [picture, document]
    bodies = []
    for file_id in range(min(ids) - 3, max(ids) + 4):  # guessed ids around the real ones
        bodies.append(body_of(buyer_api.get(f"/files/{file_id}")))
        for part in range(4):
            bodies.append(body_of(buyer_api.get(f"/files/{file_id}/preview", part=part)))
        for header in ("", "bytes=0-", "bytes=0-0", "bytes=-100", "bytes=5-20,30-40"):
            extra = {"Range": header} if header else {}
            bodies.append(body_of(buyer_api.get(f"/files/{file_id}/original", headers=extra)))
    for path in ("", "/deliveries", "/events", "/messages"):
        bodies.append(body_of(buyer_api.get(f"/orders/{order_id}{path}")))
    for original in held_back:
        # Windows of varied bytes from the file's middle: its header, runs and the JPEG
        # structure inside a PDF (tables, markers) occur in any JPEG preview too.
        middle = range(len(original) // 10, len(original) * 9 // 10, 97)
        windows = {original[i : i + 24] for i in middle}
        windows = {
            w
            for w in windows
            if len(set(w)) >= 16 and w not in JPEG_TABLES and not JPEG_MARKER.search(w)
        }
        assert len(windows) >= 8
        for body in bodies:
            leaked = [w for w in windows if w in body]
            assert not leaked, (leaked[:3], body[:300])
    # The text preview draws its first quarter as a picture: none of the text, shown or held
    # back, is in any answer as text.
    for line in (2, 25, 26, 41, 42, 100, 200):
        assert not any(f"line {line}:".encode() in body for body in bodies)
