from django.tasks import task

from handover.delivery.services import preview_make


@task()
def preview_make_task(file_id: int) -> None:
    """Make one delivered file's protected preview."""
    preview_make(file_id=file_id)
