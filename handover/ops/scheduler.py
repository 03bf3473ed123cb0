"""The scheduler loop beside the worker: at a fixed interval it enqueues each periodic task
(the timer sweep, the evidence log's step, the restart of stalled previews, the close of
preview view windows, the check of card payments still pending, the answers to
chargebacks now due) unless one is still
waiting, so a slow task never piles up copies of itself. Hourly and daily tasks come less often
(the storage sweep; the reconciliation of the ledger with the payment provider)."""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handover.billing.tasks import (
    chargeback_evidence_sweep,
    payins_check_task,
    payouts_scheduled_task,
    reconcile_daily,
)
from handover.delivery.tasks import preview_views_sweep, previews_resume, storage_sweep_task
from handover.evidence.tasks import evidence_log
from handover.notifications.tasks import outbox_send_enqueue_if_due
from handover.ops.tasks import timers_sweep

logger = logging.getLogger(__name__)
PERIODIC = (
    timers_sweep,
    evidence_log,
    previews_resume,
    preview_views_sweep,
    payins_check_task,
    chargeback_evidence_sweep,
)
# Enqueued at most this often (the first tick of a scheduler does): listing every stored file
# is not work for every tick.
HOURLY = (storage_sweep_task, payouts_scheduled_task)  # payouts: daily or weekly per seller
HOUR = 3600.0
# Enqueued when none was in the last day, as the database's queue remembers it: a restarted
# worker does not run them again.
DAILY = (reconcile_daily,)
DAY = timedelta(days=1)


# A task marked running for longer than this belonged to a worker that was killed (the queue
# never finishes it), and no longer holds the next one back.
STALE_RUNNING = timedelta(minutes=15)


def enqueue_if_idle(periodic) -> bool:
    """Enqueue the task unless one is already queued or running."""
    from django.tasks import TaskResultStatus

    mine = DBTaskResult.objects.filter(task_path=periodic.module_path)
    waiting = (
        mine.filter(status=TaskResultStatus.READY)
        | mine.filter(
            status=TaskResultStatus.RUNNING, started_at__gt=timezone.now() - STALE_RUNNING
        )
    ).exists()
    if waiting:
        return False
    periodic.enqueue()
    return True


def enqueue_if_not_since(periodic, period: timedelta) -> bool:
    """Enqueue the task unless one was enqueued within ``period``."""
    recent = DBTaskResult.objects.filter(
        task_path=periodic.module_path, enqueued_at__gt=timezone.now() - period
    )
    if recent.exists():
        return False
    periodic.enqueue()
    return True


def sweep_enqueue_if_idle() -> bool:
    """Enqueue one timer sweep unless one is already queued or running."""
    return enqueue_if_idle(timers_sweep)


def scheduler_tick(hourly_at: float | None = None) -> float | None:
    """Enqueue what is due; ``hourly_at`` is when the hourly tasks were last enqueued (None:
    never), and the answer is the same after this tick."""
    for periodic in PERIODIC:
        enqueue_if_idle(periodic)
    if hourly_at is None or time.monotonic() - hourly_at >= HOUR:
        hourly_at = time.monotonic()
        for periodic in HOURLY:
            enqueue_if_idle(periodic)
    for periodic in DAILY:
        enqueue_if_not_since(periodic, DAY)
    outbox_send_enqueue_if_due()
    return hourly_at


def scheduler_loop(stop: threading.Event, interval: float | None = None) -> None:
    interval = interval or settings.HANDOVER_SCHEDULER_INTERVAL.total_seconds()
    hourly_at: float | None = None
    while not stop.is_set():
        try:
            close_old_connections()
            hourly_at = scheduler_tick(hourly_at)
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
