"""What a process killed mid-upload or mid-preview leaves in storage and in scratch space is
deleted by the hourly sweep once it is a day old; nothing a row names is ever touched."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from handover.delivery.models import DeliveryFile, PreviewPart
from handover.delivery.storage import writer_open
from handover.delivery.sweep import ORPHAN_AGE, storage_sweep
from handover.testing.files import png_bytes, stored_objects, upload

pytestmark = pytest.mark.storage


def left_by_a_killed_process(folder: str, order_id: int) -> str:
    key = f"{folder}/{order_id}/{uuid.uuid4().hex}"
    writer = writer_open(key)
    writer.write(b"half an upload")
    writer.commit()
    return key


def old_scratch(name: str, *, directory: bool = False) -> Path:
    path = Path(settings.HANDOVER_TMP_DIR) / name
    if directory:
        path.mkdir()
        (path / "frame.png").write_bytes(b"x")
    else:
        path.write_bytes(b"x")
    day_and_more = (timezone.now() - ORPHAN_AGE - timedelta(minutes=5)).timestamp()
    os.utime(path, (day_and_more, day_and_more))
    return path


def test_the_sweep_deletes_only_old_files_that_no_row_names(delivered, order_id):
    delivered(upload(png_bytes(), "logo.png"))
    kept = set(DeliveryFile.objects.values_list("storage_key", flat=True)) | set(
        PreviewPart.objects.values_list("storage_key", flat=True)
    )
    assert any(k.startswith("previews/") for k in kept)
    orphans = {
        left_by_a_killed_process("originals", order_id),
        left_by_a_killed_process("previews", order_id),
        left_by_a_killed_process("originals", 987654),  # an order with no row at all
    }
    old_file, old_dir = old_scratch("original-x"), old_scratch("preview-y", directory=True)
    fresh = Path(settings.HANDOVER_TMP_DIR) / "original-now"
    fresh.write_bytes(b"being read")

    # Today: the orphans may still be uploads in progress; only old scratch goes.
    assert storage_sweep() == {"stored": 0, "scratch": 2}
    assert stored_objects() >= kept | orphans
    assert not old_file.exists() and not old_dir.exists() and fresh.exists()

    # A day later the orphans are certainly dead; what rows name stays.
    later = timezone.now() + ORPHAN_AGE + timedelta(minutes=1)
    assert storage_sweep(now=later)["stored"] == 3
    assert stored_objects() & orphans == set()
    assert kept <= stored_objects()
    assert storage_sweep(now=later)["stored"] == 0  # nothing twice


def test_the_sweep_on_an_empty_storage_does_nothing(db):
    assert storage_sweep() == {"stored": 0, "scratch": 0}


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_enqueues_the_sweep_hourly_and_the_worker_runs_it():
    from django.core.management import call_command
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from handover.delivery.tasks import storage_sweep_task
    from handover.ops.scheduler import HOUR, scheduler_tick

    sweeps = DBTaskResult.objects.filter(task_path=storage_sweep_task.module_path)
    hourly_at = scheduler_tick()
    assert sweeps.count() == 1
    call_command(
        "db_worker", batch=True, queue_name="*", reload=False, startup_delay=False, verbosity=0
    )
    assert sweeps.get().status == TaskResultStatus.SUCCESSFUL
    assert scheduler_tick(hourly_at) == hourly_at  # within the hour: not again
    assert sweeps.count() == 1
    assert hourly_at is not None
    scheduler_tick(hourly_at - HOUR)
    assert sweeps.count() == 2
