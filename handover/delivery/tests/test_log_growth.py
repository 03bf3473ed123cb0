"""The order's record grows with what happened, not with how often someone looked: a user's
repeated views of one preview part within a window are one event with their count, and
refused requests for originals are limited per user (429 past the limit, nothing recorded)."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from handover.delivery.models import PreviewViewTally
from handover.delivery.tallies import preview_views_close
from handover.evidence import keys
from handover.evidence.models import Event, EventType
from handover.records.tests.test_bundle import fetch_bundle
from handover.records.verify import verify_bundle
from handover.testing.actors import Api
from handover.testing.files import deliver_files, png_bytes, upload
from handover.testing.steps import ok, previews_run

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage


@pytest.fixture
def file_id(seller_api, order_id) -> int:
    delivery = ok(deliver_files(seller_api, order_id, upload(png_bytes(), "logo.png")), 201)
    previews_run()
    return delivery["files"][0]["id"]


def views(order_id: int) -> list[dict]:
    events = Event.objects.filter(order_id=order_id, type=EventType.PREVIEW_VIEWED)
    return [e.payload for e in events.order_by("id")]


def look(api: Api, file_id: int, *, method: str = "get", part: int = 0) -> int:
    call = getattr(api.client, method)
    response = call(
        f"/api/v1/files/{file_id}/preview?part={part}",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


def window_ends() -> None:
    """The open windows began long ago (the rows, not the clock, are moved)."""
    PreviewViewTally.objects.update(opened_at=timezone.now() - timedelta(days=1))


def test_a_hundred_looks_at_one_preview_are_two_events_not_a_hundred(buyer_api, order_id, file_id):
    before = Event.objects.filter(order_id=order_id).count()
    for n in range(100):
        status = look(buyer_api, file_id, method="head" if n % 2 else "get")
        assert status in (200, 302)  # 302: a presigned link, on S3
    assert Event.objects.filter(order_id=order_id).count() == before + 1
    [first] = views(order_id)
    assert "repeats" not in first

    window_ends()
    assert preview_views_close() == 1
    first, repeats = views(order_id)
    assert repeats["repeats"] == 99
    assert repeats["part"] == 0 and repeats["file_id"] == file_id
    assert repeats["first_at"] <= repeats["last_at"]
    assert Event.objects.filter(order_id=order_id).count() == before + 2
    assert not PreviewViewTally.objects.exists()


def test_a_look_after_the_window_closes_it_and_is_recorded_at_once(buyer_api, order_id, file_id):
    for _ in range(3):
        look(buyer_api, file_id)
    window_ends()
    look(buyer_api, file_id)
    assert [v.get("repeats") for v in views(order_id)] == [None, 2, None]
    assert PreviewViewTally.objects.get().repeats == 0


def test_each_user_and_each_part_has_its_own_window(buyer_api, seller_api, order_id, file_id):
    look(buyer_api, file_id)
    look(seller_api, file_id)
    look(buyer_api, file_id)
    assert len(views(order_id)) == 2
    assert PreviewViewTally.objects.count() == 2


def test_a_window_with_one_look_closes_without_an_event(buyer_api, order_id, file_id):
    look(buyer_api, file_id)
    window_ends()
    assert preview_views_close() == 1
    assert len(views(order_id)) == 1


def test_the_evidence_bundle_holds_the_views_counted_so_far(
    buyer_api, seller_api, order_id, file_id, tmp_path
):
    for _ in range(5):
        look(buyer_api, file_id)
    data = fetch_bundle(seller_api, order_id)
    assert [v.get("repeats") for v in views(order_id)] == [None, 4]
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    assert verify_bundle(path, keys.public_raw()).ok
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert '"repeats": 4' in archive.read("downloads.json").decode()


def refuse(api: Api, file_id: int):
    return api.get(f"/files/{file_id}/original")


def test_refused_originals_past_the_limit_are_429_and_not_recorded(
    buyer_api, seller_api, stranger_api, order_id, file_id, settings
):
    settings.HANDOVER_REFUSED_LIMIT = 3
    refused = Event.objects.filter(order_id=order_id, type=EventType.ORIGINAL_REFUSED)
    for _ in range(3):
        assert refuse(buyer_api, file_id).status_code == 403
    for _ in range(20):
        answer = refuse(buyer_api, file_id)
        assert answer.status_code == 429
        assert answer.json()["error"] == "too_many_requests"
        assert 1 <= int(answer["Retry-After"]) <= 3601
    assert refused.count() == 3
    # The seller downloads their own work as always; a stranger still gets a 404.
    assert seller_api.get(f"/files/{file_id}/original").status_code in (200, 302)
    assert stranger_api.get(f"/files/{file_id}/original").status_code == 404


def test_the_limit_is_per_window(buyer_api, order_id, file_id, settings, time_machine):
    settings.HANDOVER_REFUSED_LIMIT = 2
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(2):
        refuse(buyer_api, file_id)
    assert refuse(buyer_api, file_id).status_code == 429
    time_machine.shift(settings.HANDOVER_REFUSED_WINDOW + timedelta(seconds=1))
    assert refuse(buyer_api, file_id).status_code == 403


def test_the_page_says_to_wait_past_the_limit(buyer, buyer_api, order_id, file_id, settings):
    settings.HANDOVER_REFUSED_LIMIT = 1
    refuse(buyer_api, file_id)
    browser = Client()
    browser.force_login(buyer)
    page = browser.get(f"/files/{file_id}/original/", follow=True).content.decode()
    assert "Too many requests for originals that are not released yet" in page
