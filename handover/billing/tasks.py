import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from handover.billing.reconcile import reconcile

logger = logging.getLogger(__name__)

# The daily run looks back a week: money that changes after the day it moved (a refund
# confirmed late, a dispute won) is compared again on the days that follow.
DAILY_WINDOW = timedelta(days=7)


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
