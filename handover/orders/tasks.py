from django.tasks import task

from handover.orders.timers import timers_run_due


@task()
def timers_sweep() -> dict[str, int]:
    """Run every order timer and clearance that is due."""
    return timers_run_due()
