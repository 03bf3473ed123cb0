from django.tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from handover.notifications.services import outbox_due_exists, outbox_send_due


@task()
def outbox_send() -> dict[str, int]:
    """Send the e-mails and webhook calls that are due."""
    return outbox_send_due()


def outbox_send_enqueue_if_due() -> bool:
    """Enqueue a send when something is due and no send is already waiting to start.

    Only a waiting send holds the next one back, not a running one: a worker killed mid-send
    leaves its task marked running for ever, and the outbox must not stop with it. Two sends
    at once are harmless; each claims its own rows."""
    if not outbox_due_exists():
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=outbox_send.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    outbox_send.enqueue()
    return True
