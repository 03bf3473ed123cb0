"""A preview whose worker stopped is made again, a bounded number of times, then fails with
the reason; meanwhile the order does not auto-complete, and both parties see why."""

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handover.delivery.models import DeliveryFile, PreviewState
from handover.delivery.previewing import preview_make, previews_resume_stalled, stopped_reason
from handover.delivery.tasks import preview_enqueue
from handover.evidence.models import Event, EventType
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.testing.files import deliver_files, png_bytes, upload
from handover.testing.steps import download, ok, previews_run

# Runs again with files on S3 (SeaweedFS) in `./run test`.
pytestmark = pytest.mark.storage

SECOND = timedelta(seconds=1)
NOTHING = {"fired": 0, "cleared": 0}


def file_row(file_id: int) -> DeliveryFile:
    return DeliveryFile.objects.get(pk=file_id)


def lease_end(file_id: int) -> datetime:
    lease = file_row(file_id).preview_lease_until
    assert lease is not None
    return lease


def queued_previews() -> int:
    return DBTaskResult.objects.filter(
        task_path="handover.delivery.tasks.preview_make_task", status="READY"
    ).count()


def worker_killed_while_making(file_id: int) -> None:
    """What a worker killed mid-preview leaves: the attempt counted and leased, nothing else."""
    from handover.delivery.previewing import _preview_claim

    _preview_claim(file_row(file_id))


def deliver_one(seller_api, order_id: int) -> int:
    delivery = ok(deliver_files(seller_api, order_id, upload(png_bytes(), "logo.png")), 201)
    return delivery["files"][0]["id"]


def test_a_preview_whose_worker_stopped_is_queued_again_once_its_lease_runs_out(
    seller_api, order_id, clock
):
    file_id = deliver_one(seller_api, order_id)
    worker_killed_while_making(file_id)
    lease = file_row(file_id).preview_lease_until
    assert lease is not None and file_row(file_id).preview_attempts == 1
    queued = queued_previews()

    clock.move_to(lease)  # still within the attempt's time
    assert previews_resume_stalled(enqueue=preview_enqueue) == {"queued": 0, "failed": 0}

    clock.shift(SECOND)
    assert previews_resume_stalled(enqueue=preview_enqueue) == {"queued": 1, "failed": 0}
    assert queued_previews() == queued + 1
    # A second sweep right after finds the new lease and queues nothing more.
    assert previews_resume_stalled(enqueue=preview_enqueue) == {"queued": 0, "failed": 0}

    preview_make(file_id=file_id)
    row = file_row(file_id)
    assert (row.preview_state, row.preview_attempts, row.preview_lease_until) == ("ready", 2, None)


def test_a_preview_that_stopped_every_time_fails_with_the_reason(
    seller_api, order_id, settings, clock
):
    settings.HANDOVER_PREVIEW_ATTEMPTS = 2
    file_id = deliver_one(seller_api, order_id)
    for _ in range(2):
        worker_killed_while_making(file_id)
        clock.move_to(lease_end(file_id) + SECOND)
        swept = previews_resume_stalled(enqueue=preview_enqueue)
    assert swept == {"queued": 0, "failed": 1}

    row = file_row(file_id)
    assert row.preview_state == PreviewState.FAILED
    assert (
        row.preview_reason
        == stopped_reason(2)
        == ("The preview could not be made: the worker stopped while making it 2 times.")
    )
    event = Event.objects.get(type=EventType.PREVIEW_FAILED)
    assert event.payload == {"file_id": file_id, "reason": row.preview_reason}
    assert Order.objects.get(pk=order_id).preview_hold == "failed"


def test_a_queued_task_that_finds_its_attempts_spent_fails_instead_of_trying(
    seller_api, order_id, settings
):
    settings.HANDOVER_PREVIEW_ATTEMPTS = 1
    file_id = deliver_one(seller_api, order_id)
    worker_killed_while_making(file_id)
    preview_make(file_id=file_id)  # the copy queued before the sweep noticed
    row = file_row(file_id)
    assert (row.preview_state, row.preview_reason) == ("failed", stopped_reason(1))
    assert row.preview_parts.count() == 0


def test_auto_complete_waits_for_the_previews_and_then_gives_the_whole_window(
    seller, seller_api, buyer, buyer_api, order_id, settings, clock
):
    settings.HANDOVER_AUTO_COMPLETE_AFTER = timedelta(hours=5)
    deliver_one(seller_api, order_id)
    order = ok(buyer_api.get(f"/orders/{order_id}"))
    assert (order["state"], order["preview_hold"]) == ("delivered", "pending")
    for party in (buyer, seller):
        browser = Client()
        browser.force_login(party)
        page = browser.get(f"/orders/{order_id}/").content.decode()
        assert "Auto-complete waits until every preview is ready" in page
        assert "Preview being made" in page

    # The window runs out while the preview is pending (the timer is moved rather than the
    # clock: S3 refuses requests signed hours off its own time).
    Order.objects.filter(pk=order_id).update(timer_at=timezone.now() - timedelta(hours=1))
    assert timers_run_due() == NOTHING
    assert Order.objects.get(pk=order_id).state == "delivered"

    assert previews_run() == 1
    order = ok(buyer_api.get(f"/orders/{order_id}"))
    assert order["preview_hold"] == ""
    shown_at = timezone.now()
    assert Order.objects.get(pk=order_id).timer_at == shown_at + timedelta(hours=5)

    clock.shift(timedelta(hours=5) - SECOND)
    assert timers_run_due() == NOTHING
    clock.shift(SECOND)
    assert timers_run_due() == {"fired": 1, "cleared": 0}
    assert ok(buyer_api.get(f"/orders/{order_id}"))["state"] == "completed"


def test_a_failed_preview_holds_auto_complete_until_the_seller_releases_the_originals(
    seller_api, buyer, buyer_api, order_id, settings, clock
):
    settings.HANDOVER_PREVIEW_ATTEMPTS = 1
    settings.HANDOVER_AUTO_COMPLETE_AFTER = timedelta(hours=5)
    delivery = ok(deliver_files(seller_api, order_id, upload(png_bytes(), "logo.png")), 201)
    file_id = delivery["files"][0]["id"]
    worker_killed_while_making(file_id)
    clock.move_to(lease_end(file_id) + SECOND)
    previews_resume_stalled(enqueue=preview_enqueue)
    assert ok(buyer_api.get(f"/orders/{order_id}"))["preview_hold"] == "failed"

    Order.objects.filter(pk=order_id).update(timer_at=timezone.now() - timedelta(days=30))
    assert timers_run_due() == NOTHING
    browser = Client()
    browser.force_login(buyer)
    page = browser.get(f"/orders/{order_id}/").content.decode()
    assert "Auto-complete is held: a preview could not be made" in page

    ok(seller_api.act(order_id, "release-early", {"delivery_id": delivery["id"]}))
    order = Order.objects.get(pk=order_id)
    assert order.preview_hold == ""
    assert order.timer_at == timezone.now() + timedelta(hours=5)
    assert download(buyer_api, file_id).status_code in (200, 302)  # 302: presigned, on S3

    clock.shift(timedelta(hours=5))
    assert timers_run_due() == {"fired": 1, "cleared": 0}


def test_the_buyer_may_accept_while_auto_complete_waits(seller_api, buyer_api, order_id):
    deliver_one(seller_api, order_id)
    assert ok(buyer_api.get(f"/orders/{order_id}"))["preview_hold"] == "pending"
    assert ok(buyer_api.act(order_id, "accept"))["state"] == "completed"


def test_only_the_latest_delivery_holds_auto_complete(seller_api, buyer_api, order_id, clock):
    deliver_one(seller_api, order_id)
    previews_run()
    ok(buyer_api.act(order_id, "request-revision", {"text": "More blue"}))
    deliver_one(seller_api, order_id)
    assert Order.objects.get(pk=order_id).preview_hold == "pending"
    previews_run()
    assert Order.objects.get(pk=order_id).preview_hold == ""
