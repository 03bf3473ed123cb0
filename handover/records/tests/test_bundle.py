"""The evidence bundle of an order: what it holds, who may have it, and that it verifies
offline. ``long_order`` plays an order through most of what can happen to one; the tamper
tests reuse it."""

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from handover.accounts.models import Role
from handover.evidence import keys, log
from handover.evidence.chain import receipt_message
from handover.evidence.models import Event
from handover.records.verify import signature_valid, verify_bundle
from handover.testing.actors import Api, make_user
from handover.testing.factories import make_offer
from handover.testing.files import deliver_files, pdf_bytes, png_bytes, upload
from handover.testing.steps import (
    decide,
    delivered_order,
    download,
    downloaded_bytes,
    ok,
    open_dispute,
    paid_order,
    previews_run,
    refused,
)

BUYER_NOTE = "Hello! <script>alert(1)</script> & “quotes” — Grüße, Привет"


@contextmanager
def fresh_log_tree() -> Iterator[None]:
    """The log's in-process tree, new for the test and put back afterwards: it caches leaves,
    and rows a test rolls back must not stay in it for the next test."""
    kept = log._tree
    log._tree = log._Tree()
    try:
        yield
    finally:
        log._tree = kept


@pytest.fixture(autouse=True)
def _fresh_log_tree() -> Iterator[None]:
    with fresh_log_tree():
        yield


@contextmanager
def scratch_settings(root: Path) -> Iterator[None]:
    """What the shared conftest sets per test, for fixtures that outlive one test."""
    (root / "tmp").mkdir(exist_ok=True)
    storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root / "files")},
    }
    from django.conf import settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        HANDOVER_TMP_DIR=root / "tmp",
        FILE_UPLOAD_TEMP_DIR=str(root / "tmp"),
        STORAGES={**settings.STORAGES, "default": storage},
    ):
        yield


def long_order() -> tuple[int, dict[str, Api]]:
    """Placed, paid, talked about (with a reference photo, which the seller downloads),
    delivered twice (a PNG and a PDF, then a second PNG after a
    revision), previewed, refused and downloaded, a cancellation asked for and declined,
    disputed, noted by support, decided. Returns the order id and an API per actor."""
    seller, buyer = make_user("seller"), make_user("buyer")
    support = make_user("support", Role.SUPPORT)
    apis = {"seller": Api(seller), "buyer": Api(buyer), "support": Api(support)}
    b, s = apis["buyer"], apis["seller"]
    order_id = paid_order(b, make_offer(seller))
    note = ok(
        b.post(
            f"/orders/{order_id}/messages",
            data={"text": BUYER_NOTE, "files": [upload(png_bytes(seed=5), "our-shop.png")]},
        ),
        201,
    )
    # The buyer's reference photo: the seller has it whole at once.
    downloaded_bytes(s.get(note["files"][0]["url"].removeprefix("/api/v1")))
    ok(s.post(f"/orders/{order_id}/messages", {"text": "On it.\nTwo concepts first."}), 201)
    first = ok(
        s.post(
            f"/orders/{order_id}/deliveries",
            data={
                "text": "Concepts & a brief",
                "files": [upload(png_bytes(), "logo.png"), upload(pdf_bytes(2), "brief.pdf")],
                "checklist": json.dumps([{"requirement": 0, "note": "the name is on it"}]),
            },
        ),
        201,
    )
    previews_run()
    logo = first["files"][0]["id"]
    downloaded_bytes(b.get(f"/files/{logo}/preview", part=0))
    refused(download(b, logo), 403, "originals_locked")
    ok(b.act(order_id, "request-revision", {"text": "Bigger letters, please."}))
    second = ok(deliver_files(s, order_id, upload(png_bytes(seed=7), "logo-v2.png")), 201)
    previews_run()
    ok(s.post(f"/orders/{order_id}/release-early", {"delivery_id": second["id"]}))
    downloaded_bytes(download(b, second["files"][0]["id"]))
    ok(b.act(order_id, "request-cancellation", {"text": "Changed my mind", "refund": 5000}))
    ok(s.act(order_id, "decline-cancellation", {"text": "Delivered as asked."}))
    dispute_id = open_dispute(b, order_id)
    ok(apis["support"].post(f"/disputes/{dispute_id}/notes", {"text": "Both files seen."}), 201)
    ok(decide(apis["support"], dispute_id, "release"))
    return order_id, apis


def fetch_bundle(api: Api, order_id: int) -> bytes:
    response = api.get(f"/orders/{order_id}/evidence")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    # Read, not closed: closing a response here would end the test's database connection.
    return b"".join(response.streaming_content)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_long_orders_bundle_holds_the_whole_record_and_verifies(db, tmp_path, settings):
    order_id, apis = long_order()
    data = fetch_bundle(apis["buyer"], order_id)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)

    report = verify_bundle(path, keys.public_raw())
    assert report.ok, report.failures
    events = list(Event.objects.filter(order_id=order_id).order_by("id"))
    assert (report.order_id, report.events) == (order_id, len(events))
    assert report.key_id == keys.key_id(keys.public_raw())

    files = members(data)
    deliveries = sorted(n for n in files if n.startswith("receipts/"))
    previews = sorted(n for n in files if n.startswith("previews/"))
    assert len(deliveries) == 2
    assert len(previews) == 3  # the first PNG, the top of the PDF's first page, the second PNG
    assert set(files) == {
        "README.txt",
        "manifest.json",
        "events.jsonl",
        "proofs.json",
        "tree_head.json",
        "public_key.json",
        "order.json",
        "messages.json",
        "attachments.json",
        "requirements.json",
        "terms.json",
        "downloads.json",
        "timeline.html",
        "timeline.pdf",
        *deliveries,
        *previews,
    }
    lines = [json.loads(line) for line in files["events.jsonl"].splitlines()]
    # Support's note is withheld from the buyer: its hash stays, its body does not.
    assert [(line["id"], line.get("body"), line["hash"]) for line in lines] == [
        (e.pk, None if e.type == "support.note" else e.body, e.hash) for e in events
    ]
    assert report.withheld == 1
    manifest = json.loads(files["manifest.json"])
    assert {f["name"] for f in manifest["files"]} == set(files) - {"manifest.json"}
    messages = json.loads(files["messages.json"])
    assert [m["body"] for m in messages] == [BUYER_NOTE, "On it.\nTwo concepts first."]
    # The buyer's reference photo, by hash, as the message's event records it.
    [reference] = json.loads(files["attachments.json"])
    photo = png_bytes(seed=5)
    assert (reference["name"], reference["size"], reference["kind"]) == (
        "our-shop.png",
        len(photo),
        "image",
    )
    assert reference["sha256"] == hashlib.sha256(photo).hexdigest()
    assert reference["event_id"] == events[[e.type for e in events].index("message.posted")].pk
    assert "our-shop.png" not in {n.rsplit("/", 1)[-1] for n in files}  # its hash, not its bytes
    downloads = json.loads(files["downloads.json"])
    assert [d["type"] for d in downloads] == [
        "file.attachment_downloaded",
        "file.preview_viewed",
        "file.original_refused",
        "file.original_downloaded",
    ]
    assert downloads[0]["file_name"] == "our-shop.png"
    assert downloads[1]["file_name"] == "logo.png"
    terms = json.loads(files["terms.json"])
    assert terms["text"].startswith("Terms v1")
    assert json.loads(files["requirements.json"])["requirements"][0]["answer"] == "ACME"
    assert files["timeline.pdf"].startswith(b"%PDF-1.4") and b"%%EOF" in files["timeline.pdf"]
    # Nothing is left in scratch space.
    assert list(Path(settings.HANDOVER_TMP_DIR).glob("evidence-*")) == []


def test_the_timeline_is_one_escaped_page_showing_the_previews(db):
    order_id, apis = long_order()
    files = members(fetch_bundle(apis["support"], order_id))
    page = files["timeline.html"].decode()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; “quotes” — Grüße, Привет" in page
    for name in (n for n in files if n.startswith("previews/")):
        assert f'<img src="{name}"' in page
    # Self-contained: nothing is fetched from anywhere.
    for outside in ("http://", "https://", "//", 'src="/', "<link", "<script"):
        assert outside not in page.replace("width=device-width", "")
    assert "Bigger letters, please." in page and "Delivered as asked." in page


def test_parties_and_support_get_the_bundle_and_a_stranger_is_told_there_is_no_order(
    offer, buyer_api, seller_api, support_api, stranger_api, tmp_path
):
    order_id, _file_id = delivered_order(buyer_api, seller_api, offer)
    for api in (buyer_api, seller_api, support_api):
        path = tmp_path / f"{api.user.username}.zip"
        path.write_bytes(fetch_bundle(api, order_id))
        assert verify_bundle(path).ok
    refused(stranger_api.get(f"/orders/{order_id}/evidence"), 404, "not_found")
    refused(buyer_api.get("/orders/999999/evidence"), 404, "not_found")


def test_a_bundle_holds_events_written_a_moment_before(offer, buyer_api, seller_api, tmp_path):
    """No waiting for the worker: the bundle logs and signs what is there when it is asked."""
    order_id, _file_id = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "Just now"}), 201)
    path = tmp_path / "b.zip"
    path.write_bytes(fetch_bundle(buyer_api, order_id))
    report = verify_bundle(path)
    assert report.ok and report.events == Event.objects.filter(order_id=order_id).count()
    assert json.loads(members(path.read_bytes())["messages.json"])[-1]["body"] == "Just now"


def test_the_receipt_of_a_delivery_is_signed_and_names_its_event(
    offer, buyer_api, seller_api, support_api, stranger_api
):
    order_id, _file_id = delivered_order(buyer_api, seller_api, offer)
    delivery = ok(seller_api.get(f"/orders/{order_id}/deliveries"))[0]
    path = f"/orders/{order_id}/deliveries/{delivery['id']}/receipt"
    receipt: dict[str, Any] = ok(seller_api.get(path))
    event = Event.objects.get(order_id=order_id, type="order.transition", payload__action="deliver")
    assert receipt["event_hash"] == event.hash
    assert receipt["files"] == [
        {k: f[k] for k in ("name", "size", "sha256", "kind")} for f in delivery["files"]
    ]
    assert (receipt["order_id"], receipt["delivery_id"]) == (order_id, delivery["id"])
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    assert signature_valid(keys.public_raw(), receipt_message(unsigned), receipt["signature"])
    assert ok(buyer_api.get(path)) == receipt == ok(support_api.get(path))
    refused(stranger_api.get(path), 404, "not_found")
    refused(seller_api.get(f"/orders/{order_id}/deliveries/999999/receipt"), 404, "not_found")
