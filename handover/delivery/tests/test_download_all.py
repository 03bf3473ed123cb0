""" "Download all": a delivery's originals as one ZIP, under the single original's rule, each
file on the order's record as the event a single download writes, marked as in the archive."""

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client, RequestFactory

from handover.delivery.models import DeliveryFile
from handover.delivery.serving import originals_zip_served
from handover.delivery.storage import writer_open
from handover.evidence.models import Event, EventType
from handover.testing.files import deliver_raw, png_bytes, text_bytes, upload
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import decide, ok, open_dispute
from handover.web.tests.helpers import page_messages

# Runs again with files on S3 (SeaweedFS) in `./run test`: the archive reads S3 itself.
pytestmark = pytest.mark.storage

FILES = {
    "logo.png": png_bytes(64, 48, seed=3),
    "Logo.png": png_bytes(32, 32, seed=4),  # the same name on a case-insensitive disk
    "brief é 日本.txt": text_bytes(20),
    "../../../etc/cron.d/evil.txt": text_bytes(5),
}
SAFE_NAMES = ["logo.png", "Logo (2).png", "brief é 日本.txt", "evil.txt"]


def zip_url(delivery_id: int) -> str:
    return f"/deliveries/{delivery_id}/originals.zip"


def unzipped(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content)
    assert len(body) == int(response["Content-Length"])
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def delivery(seller_api, order_id) -> dict:
    """Four files, their names as a careless or hostile client sends them."""
    response = deliver_raw(seller_api, order_id, list(FILES.items()))
    return ok(response, 201)


def downloads(order_id: int) -> list[Event]:
    return list(
        Event.objects.filter(order_id=order_id, type=EventType.ORIGINAL_DOWNLOADED).order_by("id")
    )


def test_after_acceptance_the_buyer_gets_every_original_in_one_zip(delivery, buyer_api, order_id):
    ok(buyer_api.act(order_id, "accept"))
    response = buyer_api.get(zip_url(delivery["id"]))
    assert response["Content-Type"] == "application/zip"
    assert f"order-{order_id}-delivery-1-originals.zip" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Accel-Buffering"] == "no"  # a proxy in front passes it on as it goes
    assert unzipped(response) == dict(zip(SAFE_NAMES, FILES.values(), strict=True))
    events = downloads(order_id)
    assert [e.payload["file_id"] for e in events] == [f["id"] for f in delivery["files"]]
    for event, f, name in zip(events, delivery["files"], SAFE_NAMES, strict=True):
        assert event.actor_role == "buyer"
        assert event.payload["sha256"] == f["sha256"]
        assert (event.payload["status"], event.payload["bytes"]) == (200, f["size"])
        assert event.payload["archive"] == {
            "delivery_id": delivery["id"],
            "name": name,
            "complete": True,
        }


def test_before_release_the_buyer_is_refused_as_for_one_original(delivery, buyer_api, order_id):
    before = Event.objects.filter(order_id=order_id).count()
    response = buyer_api.get(zip_url(delivery["id"]))
    assert response.status_code == 403
    single = buyer_api.get(f"/files/{delivery['files'][0]['id']}/original")
    assert response.json() == single.json()
    assert response.json()["error"] == "originals_locked"
    refusals = Event.objects.filter(order_id=order_id, type=EventType.ORIGINAL_REFUSED)
    assert refusals.count() == 2  # the archive's and the single file's
    assert refusals.first().payload["archive"] == {  # type: ignore[union-attr]
        "delivery_id": delivery["id"],
        "files": [f["id"] for f in delivery["files"]],
    }
    assert Event.objects.filter(order_id=order_id).count() == before + 2
    assert downloads(order_id) == []


def test_after_a_refund_the_buyer_is_refused_and_nothing_is_sent(
    delivery, buyer_api, support_api, order_id
):
    ok(buyer_api.act(order_id, "accept"))
    decide(support_api, open_dispute(buyer_api, order_id), "refund")
    before = db_snapshot()
    response = buyer_api.get(zip_url(delivery["id"]))
    assert response.status_code == 403
    assert response.json()["error"] == "originals_locked"
    assert downloads(order_id) == []
    after = db_snapshot()
    # Only the refusal was added to the record; nothing else moved.
    assert {k: v for k, v in after.items() if k != "Event"} == {
        k: v for k, v in before.items() if k != "Event"
    }
    added = Event.objects.filter(order_id=order_id).order_by("-id")[
        : len(after["Event"]) - len(before["Event"])
    ]
    assert [e.type for e in added] == [EventType.ORIGINAL_REFUSED]


def test_the_seller_and_support_always_get_it_and_strangers_get_404(
    delivery, seller_api, support_api, stranger_api, order_id
):
    for api in (seller_api, support_api):
        assert list(unzipped(api.get(zip_url(delivery["id"])))) == SAFE_NAMES
    assert [e.actor_role for e in downloads(order_id)] == ["seller"] * 4 + ["support"] * 4
    before = db_snapshot()
    assert stranger_api.get(zip_url(delivery["id"])).status_code == 404
    assert db_snapshot() == before


def test_a_delivery_released_early_is_the_buyers_the_others_not(
    delivered, seller_api, buyer_api, order_id
):
    first = delivered(upload(text_bytes(3), "one.txt"))
    second = delivered(upload(text_bytes(4), "two.txt"))
    ok(seller_api.act(order_id, "release-early", {"delivery_id": first["id"]}))
    assert unzipped(buyer_api.get(zip_url(first["id"]))) == {"one.txt": text_bytes(3)}
    assert buyer_api.get(zip_url(second["id"])).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/deliveries/999999/originals.zip",
        "/deliveries/0/originals.zip",
        "/deliveries/99999999999999999999999/originals.zip",
        "/deliveries/-1/originals.zip",
        "/deliveries/1e3/originals.zip",
        "/deliveries/%2e%2e/originals.zip",
    ],
)
def test_hostile_delivery_ids_change_nothing(delivery, buyer_api, path):
    before = db_snapshot()
    response = buyer_api.get(path)
    assert response.status_code in (404, 422)
    assert "error" in response.json()
    assert db_snapshot() == before


def test_a_client_gone_mid_archive_leaves_only_what_was_sent_on_the_record(
    delivery, seller, order_id
):
    # Served as a WSGI server would, without the test client's wrapping of the response.
    request = RequestFactory().get(f"/api/v1{zip_url(delivery['id'])}")
    response = originals_zip_served(request, delivery_id=delivery["id"], user=seller)
    chunks = iter(response)
    # The first file: its header, its data (one block), its descriptor; then the second
    # file's header and data, which the client takes before it goes away.
    for _ in range(5):
        next(chunks)
    next(chunks)  # the second file's data was handed over: the server asks for more
    # The client went away: the server closes the response (without the end of request
    # closing the test's database connection, as the test client does).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    events = downloads(order_id)
    assert [e.payload["archive"]["complete"] for e in events] == [True, False]
    assert events[1].payload["bytes"] == delivery["files"][1]["size"]
    assert events[1].payload["range"] == f"0-{delivery['files'][1]['size'] - 1}"


def test_a_large_delivery_streams_with_flat_memory(delivery, seller_api):
    """The real figures are in bench/zipall.py; this bound is generous."""
    size = 48 * 1024 * 1024
    file = DeliveryFile.objects.get(pk=delivery["files"][2]["id"])
    default_storage.delete(file.storage_key)  # the stored text, replaced by a larger one
    writer = writer_open(file.storage_key)
    block = b"A line of the original text, long enough to fill the block quickly.\n" * 15420
    for _ in range(size // len(block)):
        writer.write(block)
    writer.write(b"x" * (size % len(block)))
    writer.commit()
    DeliveryFile.objects.filter(pk=file.pk).update(size=size)
    response = seller_api.get(zip_url(delivery["id"]))
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in response.streaming_content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == int(response["Content-Length"]) > size
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_the_order_page_offers_download_all_once_released(delivery, buyer, buyer_api, order_id):
    client = Client()
    client.force_login(buyer)
    page = f"/orders/{order_id}/"
    web_zip = f"/deliveries/{delivery['id']}/originals.zip"
    assert "Download all" not in client.get(page).content.decode()
    refused = client.get(web_zip, follow=True)
    assert refused.redirect_chain == [(page, 302)]
    assert page_messages(refused) == [buyer_api.get(zip_url(delivery["id"])).json()["detail"]]
    assert downloads(order_id) == []
    ok(buyer_api.act(order_id, "accept"))
    assert "Download all (4 files, " in client.get(page).content.decode()
    assert list(unzipped(client.get(web_zip))) == SAFE_NAMES
    assert len(downloads(order_id)) == 4
