"""Trust writes fired at the same instant from threads with their own database connections
(real commits, PostgreSQL row locks): the limits hold and the loser gets a 409, never a 500."""

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from handover.accounts.models import Role
from handover.lib.errors import Conflict
from handover.orders.feedback import order_review
from handover.orders.rules import State
from handover.testing.actors import make_user
from handover.testing.factories import order_in_state
from handover.trust.models import Report, Review
from handover.trust.services import MAX_OPEN_REPORTS, report_create, report_handle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def _at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls in threads released together: "ok", or the code of the Conflict."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> str:
        try:
            connection.ensure_connection()
            start.wait(timeout=60)
            call()
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return sorted(pool.map(run, calls))


def test_two_reviews_by_one_party_at_once_make_one_review():
    buyer, seller, support = make_user("buyer"), make_user("seller"), make_user("s", Role.SUPPORT)
    for _ in range(ROUNDS):
        order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)

        def submit(order_id: int = order.pk) -> Review:
            return order_review(order_id=order_id, user=buyer, rating=5, text="")

        assert _at_once([submit, submit]) == ["already_reviewed", "ok"]
        assert Review.objects.filter(order=order).count() == 1


def test_reports_at_once_stop_at_the_open_limit():
    reporter = make_user("reporter")
    for _ in range(ROUNDS):
        subject = make_user("subject")
        for _ in range(MAX_OPEN_REPORTS - 1):
            report_create(reporter=reporter, subject_id=subject.pk, reason="spam", text="")

        def file(subject_id: int = subject.pk) -> Report:
            return report_create(reporter=reporter, subject_id=subject_id, reason="spam", text="")

        assert _at_once([file, file, file]) == ["ok", "too_many_reports", "too_many_reports"]
        assert Report.objects.filter(subject=subject).count() == MAX_OPEN_REPORTS


def test_two_agents_handling_one_report_at_once_handle_it_once():
    reporter, subject = make_user("reporter"), make_user("subject")
    agents = [make_user("agent", Role.SUPPORT) for _ in range(2)]
    for _ in range(ROUNDS):
        report = report_create(reporter=reporter, subject_id=subject.pk, reason="spam", text="")
        calls: list[Callable[[], object]] = [
            functools.partial(report_handle, report_id=report.pk, user=agent) for agent in agents
        ]
        assert _at_once(calls) == ["already_handled", "ok"]
