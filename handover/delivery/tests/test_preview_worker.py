"""The worker makes each file's preview after the delivery commits, stores its parts and
records the result; a file that cannot be previewed says why, and leaves nothing behind."""

import hashlib

import pytest
from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from handover.delivery.models import DeliveryFile, PreviewPart, PreviewState
from handover.delivery.previewing import preview_make
from handover.delivery.services import order_deliver
from handover.evidence.models import Event, EventType
from handover.testing.files import (
    deliver_files,
    pdf_bytes,
    png_bytes,
    scratch_files,
    stored_bytes,
    stored_objects,
    text_bytes,
    upload,
)
from handover.testing.steps import ok

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage


def test_the_worker_makes_previews_after_the_delivery_commits(
    seller_api, order_id, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        delivery = ok(
            deliver_files(
                seller_api, order_id, upload(png_bytes(), "a.png"), upload(pdf_bytes(), "b.pdf")
            ),
            201,
        )
    # The tasks were written with the delivery, not left for after its commit.
    assert after_commit == []
    assert {f["preview"]["state"] for f in delivery["files"]} == {"pending"}
    queued = list(DBTaskResult.objects.ready())
    assert {q.task_path for q in queued} == {"handover.delivery.tasks.preview_make_task"}
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    for task in queued:  # what `handover worker` does, minus its connection recycling
        worker.run_task(task)
    files = DeliveryFile.objects.order_by("id")
    assert [f.preview_state for f in files] == ["ready", "ready"]
    assert files[1].preview_info["pages"] == 5
    assert files[1].preview_parts.count() == 1  # a quarter of five pages: the first one


def test_a_delivery_that_rolls_back_leaves_no_preview_task(seller, order_id):
    """The task row is part of the delivery's transaction: an outer rollback takes both."""
    with pytest.raises(Rollback), transaction.atomic():
        order_deliver(order_id=order_id, user=seller, text="", files=[upload(png_bytes(), "a.png")])
        assert DBTaskResult.objects.count() == 1
        raise Rollback
    assert DBTaskResult.objects.count() == 0
    assert DeliveryFile.objects.count() == 0


class Rollback(Exception):
    pass


def test_a_preview_is_stored_and_recorded_with_its_hash(seller_api, order_id, buyer):
    file_id = ok(deliver_files(seller_api, order_id, upload(png_bytes())), 201)["files"][0]["id"]
    preview_make(file_id=file_id)
    [part] = PreviewPart.objects.filter(file_id=file_id)
    content = stored_bytes(part.storage_key)
    assert part.sha256 == hashlib.sha256(content).hexdigest()
    assert part.size == len(content)
    assert part.storage_key.startswith(f"previews/{order_id}/")
    event = Event.objects.get(type=EventType.PREVIEW_MADE)
    assert event.payload["parts"][0]["sha256"] == part.sha256
    assert event.actor_role == "worker"
    assert scratch_files() == set()


def test_making_a_preview_twice_changes_nothing(seller_api, order_id):
    file_id = ok(deliver_files(seller_api, order_id, upload(text_bytes())), 201)["files"][0]["id"]
    preview_make(file_id=file_id)
    objects = stored_objects()
    preview_make(file_id=file_id)
    assert stored_objects() == objects
    assert Event.objects.filter(type=EventType.PREVIEW_MADE).count() == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (png_bytes()[:60], ""),
        (b"%PDF-1.7\n" + b"garbage " * 100, ""),
    ],
    ids=["truncated-png", "broken-pdf"],
)
def test_a_file_that_cannot_be_previewed_says_why_and_leaves_nothing(
    seller_api, order_id, content, reason
):

    file_id = ok(deliver_files(seller_api, order_id, upload(content)), 201)["files"][0]["id"]
    objects = stored_objects()
    preview_make(file_id=file_id)
    file = DeliveryFile.objects.get(pk=file_id)
    assert file.preview_state == PreviewState.FAILED
    assert len(file.preview_reason) > 10
    assert stored_objects() == objects
    assert scratch_files() == set()
    failed = Event.objects.get(type=EventType.PREVIEW_FAILED)
    assert failed.payload == {"file_id": file_id, "reason": file.preview_reason}


def test_kinds_without_a_preview_show_name_size_type_and_hash(seller_api, order_id, buyer_api):
    page = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    file = ok(deliver_files(seller_api, order_id, upload(page, "page.html")), 201)["files"][0]
    assert file["kind"] == "other"
    assert file["content_type"] == "text/html"
    assert file["preview"]["state"] == "none"
    response = buyer_api.get(f"/files/{file['id']}/preview")
    assert response.status_code == 404
    assert response.json()["error"] == "no_preview"
