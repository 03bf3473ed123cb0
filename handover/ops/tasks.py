from django.tasks import task

from handover.api.services import idempotency_prune
from handover.ops.timers import timers_run_due


@task()
def timers_sweep() -> dict[str, int]:
    """Run every order timer and clearance that is due, and forget expired idempotency keys."""
    return {**timers_run_due(), "idempotency_pruned": idempotency_prune()}
