from django.db import transaction
from django.tasks import task
from django_tasks_db.backend import DatabaseBackend

from handover.delivery.previewing import preview_make, previews_resume_stalled
from handover.delivery.sweep import storage_sweep
from handover.delivery.tallies import preview_views_close


@task()
def preview_make_task(file_id: int) -> None:
    """Make one delivered file's protected preview."""
    preview_make(file_id=file_id)


def preview_enqueue(file_id: int) -> None:
    """Queue the file's preview. With the database task backend the task's row is written in
    the delivery's transaction: the worker sees both or neither, a crash after the commit
    cannot lose the task, and no second write waits for the lock. Any other backend could run
    the task at once, before the rows it needs are committed, so it is queued on commit."""
    if isinstance(preview_make_task.get_backend(), DatabaseBackend):
        preview_make_task.enqueue(file_id)
    else:
        transaction.on_commit(lambda: preview_make_task.enqueue(file_id))


@task()
def storage_sweep_task() -> dict[str, int]:
    """Delete what killed processes left in storage and in the scratch folder."""
    return storage_sweep()


@task()
def previews_resume() -> dict[str, int]:
    """Queue again the previews whose worker stopped while making them."""
    return previews_resume_stalled(enqueue=preview_enqueue)


@task()
def preview_views_sweep() -> int:
    """Write the repeated preview views of each window that ran out as one event."""
    return preview_views_close()
