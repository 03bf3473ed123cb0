import json
from datetime import UTC, datetime

import stripe
from django.core.management.base import BaseCommand, CommandError

from handover.billing.reconcile import reconcile, reconcile_report


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--since takes a date or time like 2026-12-01: not {text!r}.", returncode=2
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Compare the ledger with the payment provider's charges, refunds, transfers and "
        "disputes; list every difference, one a line. Exit status 0 when they agree, 1 when "
        "they do not, 2 when they could not be compared."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="only money moved since this date or time (ISO 8601, UTC unless given); "
            "default: all of it",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="the result as JSON"
        )

    def handle(self, *args, since: str | None, as_json: bool, **options):
        try:
            result = reconcile(since=_since(since) if since else None)
        except stripe.StripeError as error:
            # The SDK's own words (never the key): the provider did not answer, or refused.
            raise CommandError(
                f"could not ask the payment provider: {error.user_message or type(error).__name__}",
                returncode=2,
            ) from None
        if as_json:
            self.stdout.write(_json(result.as_json()))
        else:
            for line in reconcile_report(result):
                self.stdout.write(line)
        if result.differences:
            count = len(result.differences)
            raise CommandError(
                f"the ledger and {result.provider} differ ({count} difference"
                f"{'' if count == 1 else 's'})",
                returncode=1,
            )


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
