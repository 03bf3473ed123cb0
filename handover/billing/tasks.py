from django.tasks import task

from handover.billing.evidence import evidence_submit_due


@task()
def chargeback_evidence_sweep() -> int:
    """Answer every Stripe dispute whose cut-off before the bank's deadline has come."""
    return evidence_submit_due()
