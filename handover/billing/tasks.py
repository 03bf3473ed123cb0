from django.tasks import task

from handover.billing.evidence import evidence_submit_due
from handover.billing.payins import payins_check
from handover.billing.payouts import payouts_scheduled


@task()
def payins_check_task() -> dict[str, int]:
    """Ask Stripe about card payments still pending, for webhooks that never came."""
    return payins_check()


@task()
def payouts_scheduled_task() -> dict[str, int]:
    """Pay out the sellers whose daily or weekly payout is due and who have cleared funds."""
    return {"payouts": payouts_scheduled()}


@task()
def chargeback_evidence_sweep() -> int:
    """Answer every Stripe dispute whose cut-off before the bank's deadline has come."""
    return evidence_submit_due()
