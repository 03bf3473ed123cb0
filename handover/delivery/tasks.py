from django.tasks import task

from handover.delivery.services import preview_make
from handover.delivery.sweep import storage_sweep


@task()
def preview_make_task(file_id: int) -> None:
    """Make one delivered file's protected preview."""
    preview_make(file_id=file_id)


@task()
def storage_sweep_task() -> dict[str, int]:
    """Delete what killed processes left in storage and in the scratch folder."""
    return storage_sweep()
