from django.tasks import task

from handover.billing.payouts import payouts_scheduled


@task()
def payouts_scheduled_task() -> dict[str, int]:
    """Pay out the sellers whose daily or weekly payout is due and who have cleared funds."""
    return {"payouts": payouts_scheduled()}
