import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from handover.billing.evidence import evidence_submit_due
from handover.billing.payins import payins_check
from handover.billing.payouts import payouts_scheduled
from handover.billing.reconcile import reconcile

logger = logging.getLogger(__name__)

# The daily run looks back a week: money that changes after the day it moved (a refund
# confirmed late, a dispute won) is compared again on the days that follow.
DAILY_WINDOW = timedelta(days=7)


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


@task()
def reconcile_daily() -> dict[str, int]:
    """Compare the last week of the ledger with the provider; tell operators of differences."""
    result = reconcile(since=timezone.now() - DAILY_WINDOW)
    if result.differences:
        logger.error(
            "reconcile: the ledger and %s differ in %d places; run `handover reconcile` to "
            "list them. First: %s",
            result.provider,
            len(result.differences),
            result.differences[0].line(),
        )
    return {"compared": sum(result.compared.values()), "differences": len(result.differences)}
