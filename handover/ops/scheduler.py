"""The scheduler loop beside the worker: it enqueues a timer sweep at a fixed interval,
unless one is still waiting, so a slow sweep never piles up copies of itself."""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django_tasks_db.models import DBTaskResult

from handover.orders.tasks import timers_sweep

logger = logging.getLogger(__name__)


def sweep_enqueue_if_idle() -> bool:
    """Enqueue one timer sweep unless one is already queued or running."""
    from django.tasks import TaskResultStatus

    waiting = DBTaskResult.objects.filter(
        task_path=timers_sweep.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).exists()
    if waiting:
        return False
    timers_sweep.enqueue()
    return True


def scheduler_loop(stop: threading.Event, interval: float | None = None) -> None:
    interval = interval or settings.HANDOVER_SCHEDULER_INTERVAL.total_seconds()
    while not stop.is_set():
        try:
            close_old_connections()
            sweep_enqueue_if_idle()
        except Exception:  # keep scheduling; the next tick retries
            logger.exception("scheduler tick failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def scheduler_start(interval: float | None = None) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=scheduler_loop, args=(stop, interval), name="scheduler", daemon=True
    ).start()
    return stop
