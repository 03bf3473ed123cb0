from django.tasks import task

from handover.delivery.services import preview_make, preview_views_close, previews_resume_stalled
from handover.delivery.sweep import storage_sweep


@task()
def preview_make_task(file_id: int) -> None:
    """Make one delivered file's protected preview."""
    preview_make(file_id=file_id)


@task()
def storage_sweep_task() -> dict[str, int]:
    """Delete what killed processes left in storage and in the scratch folder."""
    return storage_sweep()


@task()
def previews_resume() -> dict[str, int]:
    """Queue again the previews whose worker stopped while making them."""
    return previews_resume_stalled()


@task()
def preview_views_sweep() -> int:
    """Write the repeated preview views of each window that ran out as one event."""
    return preview_views_close()
