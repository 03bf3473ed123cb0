from django.tasks import task

from handover.billing.payins import payins_check


@task()
def payins_check_task() -> dict[str, int]:
    """Ask Stripe about card payments still pending, for webhooks that never came."""
    return payins_check()
