"""Reference files from the buyer: sent with a chat message or the requirement answers through
the delivery's upload path (streamed, hashed, sniffed, limited), readable whole by both parties
at once, on the record by hash. A refusal leaves nothing: no row, no object, no event."""

import hashlib
import uuid

import pytest

from handover.delivery import uploads
from handover.delivery.tests.corpus import CASES, Case
from handover.delivery.tests.test_access import body_of
from handover.evidence.models import Event, EventType
from handover.orders.models import Attachment
from handover.testing.actors import Api
from handover.testing.factories import make_offer
from handover.testing.files import png_bytes, scratch_files, stored_bytes, stored_objects, upload
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok, open_dispute, paid_order, place, refused

pytestmark = pytest.mark.storage  # runs again with files on S3 in `./run test`

# The corpus's refusals that mean the same for a reference file: a refused kind, an empty
# file, a misleading name, one byte over the file limit (the corpus test's limits).
REFUSED = {
    "elf",
    "windows-lnk",
    "empty-file",
    "name-rtl-override",
    "name-isolate",
    "name-newline",
    "text-1mib-plus-1",
}


def send(api: Api, order_id: int, text: str = "The footage", *files, key: str | None = ""):
    data = {"text": text, "files": list(files)}
    return api.post(f"/orders/{order_id}/messages", data=data, key=key)


def send_raw(api: Api, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]):
    """A multipart POST built by hand: file names arrive exactly as given."""
    boundary = "handover-reference-boundary"
    body = bytearray()
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for field, name, data in files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode("utf-8", "surrogateescape")
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return api.client.post(
        f"/api/v1{path}",
        bytes(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=api._headers(uuid.uuid4().hex),
    )


@pytest.fixture
def order_id(buyer_api, offer) -> int:
    return paid_order(buyer_api, offer)


@pytest.fixture
def nothing_stored(monkeypatch):
    """Fails the test if the upload opens a single object in storage."""

    def refuse(key):
        raise AssertionError(f"an object was opened for writing: {key}")

    monkeypatch.setattr(uploads, "writer_open", refuse)


def test_buyer_sends_reference_photos_with_a_message(buyer_api, seller_api, order_id):
    photo = png_bytes(seed=3)
    message = ok(send(buyer_api, order_id, "Match these", upload(photo, "shelf.png")), 201)
    [file] = message["files"]
    assert (file["name"], file["size"], file["kind"]) == ("shelf.png", len(photo), "image")
    assert file["sha256"] == hashlib.sha256(photo).hexdigest()
    row = Attachment.objects.get()
    assert (row.message_id, row.requirement) == (message["id"], None)
    assert row.storage_key.startswith(f"references/{order_id}/")
    assert stored_bytes(row.storage_key) == photo
    event = Event.objects.filter(type=EventType.MESSAGE_POSTED).get()
    assert event.payload["files"] == [
        {
            "id": row.pk,
            "name": "shelf.png",
            "size": len(photo),
            "sha256": row.sha256,
            "kind": "image",
            "type": "image/png",
        }
    ]
    # The seller has the whole file at once: it is the buyer's own, not work under escrow.
    assert body_of(seller_api.get(file["url"].removeprefix("/api/v1"))) == photo
    download = Event.objects.filter(type=EventType.ATTACHMENT_DOWNLOADED).get()
    assert download.payload["attachment_id"] == row.pk
    assert download.payload["sha256"] == row.sha256
    assert download.actor_role == "seller"
    listed = ok(seller_api.get(f"/orders/{order_id}/messages"))["items"]
    assert [f["id"] for f in listed[0]["files"]] == [row.pk]


def test_a_message_with_files_needs_no_text(buyer_api, order_id):
    message = ok(send(buyer_api, order_id, "", upload(png_bytes(), "a.png")), 201)
    assert message["text"] == "" and len(message["files"]) == 1
    refused(send(buyer_api, order_id, ""), 400, "invalid")  # neither text nor files


def test_a_json_message_still_works_and_has_no_files(buyer_api, order_id):
    message = ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "hello"}), 201)
    assert message["files"] == []
    assert "files" not in Event.objects.get(type=EventType.MESSAGE_POSTED).payload


def test_the_seller_cannot_attach_files_to_a_message(seller_api, order_id):
    """A seller's file in the chat would be work handed over outside a delivery: no previews,
    before the money is released. Refused before a byte is stored."""
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = send(seller_api, order_id, "A draft", upload(png_bytes(), "draft.png"))
    refused(response, 403, "attachments_buyer_only")
    assert db_snapshot() == before_rows
    assert stored_objects() == before_objects
    # The seller's plain messages are untouched.
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "On it."}), 201)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in REFUSED], ids=lambda c: c.id)
def test_a_refused_reference_file_changes_nothing(case: Case, settings, buyer_api, order_id):
    settings.HANDOVER_MAX_FILE_SIZE = 1024 * 1024  # the corpus's limits
    settings.HANDOVER_MAX_DELIVERY_SIZE = 3 * 1024 * 1024
    before_rows, before_objects = db_snapshot(), stored_objects()
    path = f"/orders/{order_id}/messages"
    response = send_raw(buyer_api, path, {"text": "See"}, [("files", case.filename, case.data)])
    refused(response, case.status, case.error or "")
    assert db_snapshot() == before_rows
    assert stored_objects() == before_objects
    assert scratch_files() == set()


def test_a_message_too_large_in_all_changes_nothing(settings, buyer_api, order_id):
    settings.HANDOVER_MAX_DELIVERY_SIZE = len(png_bytes()) + 10
    before_rows, before_objects = db_snapshot(), stored_objects()
    files = [upload(png_bytes(), "one.png"), upload(png_bytes(seed=2), "two.png")]
    body = refused(send(buyer_api, order_id, "Both", *files), 413, "delivery_too_large")
    assert body["detail"].startswith("A message may be at most")
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_files_in_another_field_are_refused(buyer_api, order_id):
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = send_raw(
        buyer_api,
        f"/orders/{order_id}/messages",
        {"text": "x"},
        [("files_0", "a.png", png_bytes())],
    )
    refused(response, 400, "files_field")
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_the_buyer_adds_reference_files_to_the_answers_before_paying(buyer_api, seller_api, offer):
    order = place(buyer_api, offer)
    logo, shop = png_bytes(seed=4), png_bytes(seed=9)
    response = send_raw(
        buyer_api,
        f"/orders/{order['id']}/answers",
        {"answers": "ACME Ltd"},
        [("files_0", "old-logo.png", logo), ("files_1", "shop.png", shop)],
    )
    # The offer asks two questions: the second answer is missing.
    refused(response, 400, "invalid")
    assert Attachment.objects.count() == 0 and not stored_objects()
    response = buyer_api.post(
        f"/orders/{order['id']}/answers",
        data={
            "answers": ["ACME Ltd", "navy"],
            "files_0": [upload(logo, "old-logo.png")],
            "files_1": [upload(shop, "shop.png")],
        },
    )
    detail = ok(response)
    assert [a["answer"] for a in detail["requirements"]] == ["ACME Ltd", "navy"]
    assert [(f["requirement"], f["name"]) for f in detail["answer_files"]] == [
        (0, "old-logo.png"),
        (1, "shop.png"),
    ]
    event = Event.objects.filter(type=EventType.ANSWERS_UPDATED).get()
    assert [(f["requirement"], f["sha256"]) for f in event.payload["files"]] == [
        (0, hashlib.sha256(logo).hexdigest()),
        (1, hashlib.sha256(shop).hexdigest()),
    ]
    # The seller sees them on the order and takes them whole.
    seen = ok(seller_api.get(f"/orders/{order['id']}"))["answer_files"]
    assert body_of(seller_api.get(seen[1]["url"].removeprefix("/api/v1"))) == shop


def test_answers_are_frozen_once_paid_and_no_file_is_stored(buyer_api, order_id, nothing_stored):
    response = buyer_api.post(
        f"/orders/{order_id}/answers",
        data={"answers": ["ACME", "blue"], "files_0": [upload(png_bytes(), "late.png")]},
    )
    refused(response, 409, "frozen")
    assert Attachment.objects.count() == 0


def test_an_answer_file_for_no_question_is_refused(buyer_api, offer):
    order = place(buyer_api, offer)
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = buyer_api.post(
        f"/orders/{order['id']}/answers",
        data={"answers": ["ACME", "blue"], "files_7": [upload(png_bytes(), "x.png")]},
    )
    refused(response, 400, "bad_requirement")
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_a_retry_with_the_same_key_replays_and_stores_nothing_more(buyer_api, order_id):
    photo = upload(png_bytes(), "shelf.png")
    first = ok(send(buyer_api, order_id, "Once", photo, key="ref-1"), 201)
    objects = stored_objects()
    photo.seek(0)
    again = ok(send(buyer_api, order_id, "Once", photo, key="ref-1"), 201)
    assert again == first
    assert Attachment.objects.count() == 1 and stored_objects() == objects
    other = upload(png_bytes(seed=8), "shelf.png")
    refused(send(buyer_api, order_id, "Once", other, key="ref-1"), 422, "idempotency_key_reused")
    assert Attachment.objects.count() == 1 and stored_objects() == objects


def test_a_stranger_cannot_read_them_and_support_can_on_a_dispute(
    buyer_api, seller_api, support_api, stranger_api, order_id
):
    message = ok(send(buyer_api, order_id, "Ref", upload(png_bytes(), "ref.png")), 201)
    path = message["files"][0]["url"].removeprefix("/api/v1")
    refused(stranger_api.get(path), 404, "not_found")
    refused(stranger_api.get(f"/orders/{order_id}/messages"), 404, "not_found")
    other = paid_order(buyer_api, make_offer(seller_api.user, title="Another"))
    wrong = path.replace(f"/orders/{order_id}/", f"/orders/{other}/")
    refused(buyer_api.get(wrong), 404, "not_found")  # the file of another order
    open_dispute(buyer_api, order_id)
    assert body_of(support_api.get(path)) == png_bytes()
    roles = list(
        Event.objects.filter(type=EventType.ATTACHMENT_DOWNLOADED).values_list(
            "actor_role", flat=True
        )
    )
    assert roles == ["support"]
    assert body_of(buyer_api.get(path)) == png_bytes()  # the buyer's own, too


def test_a_stranger_cannot_attach(stranger_api, order_id, nothing_stored):
    refused(send(stranger_api, order_id, "Hi", upload(png_bytes(), "x.png")), 404, "not_found")
