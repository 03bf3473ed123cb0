"""Reports through the API: to the support queue, never about yourself or about an order
that is not yours, at most a few open ones per person reported."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.api.tests.test_api_errors import (
    BLANK,
    HOSTILE,
    NUL_TEXT,
    any_text,
    assert_error,
    json_values,
    not_a_string,
    not_an_int,
    too_long,
)
from handover.evidence.models import Event
from handover.testing.actors import Api
from handover.testing.steps import ok, paid_order, refused
from handover.trust.models import Report, ReportReason
from handover.trust.services import MAX_OPEN_REPORTS
from handover.trust.tests.helpers import trust_snapshot


def report(api: Api, user, reason: str = "off_platform_payment", **body: Any):
    return api.post(f"/users/{user.pk}/reports", {"reason": reason, **body})


def queue(api: Api) -> list[dict[str, Any]]:
    return ok(api.get("/reports"))["items"]


@pytest.fixture
def order_id(offer, buyer_api) -> int:
    return paid_order(buyer_api, offer)


def test_a_report_about_an_order_goes_to_support_and_on_the_orders_record(
    order_id, buyer, seller, seller_api, support_api
):
    text = "Asked me to pay by bank transfer instead."
    filed = ok(report(seller_api, buyer, text=text, order_id=order_id), 201)

    assert (filed["reporter_id"], filed["subject_id"], filed["order_id"]) == (
        seller.pk,
        buyer.pk,
        order_id,
    )
    assert queue(support_api) == [filed]
    assert filed["handled_at"] is None and filed["reason"] == "off_platform_payment"
    event = Event.objects.get(order_id=order_id, type="report.filed")
    assert (event.actor_id, event.actor_role) == (seller.pk, "seller")
    assert set(event.payload) == {"report_id", "reason", "sha256"}
    assert event.payload["report_id"] == filed["id"]
    assert text not in str(event.payload)


def test_a_report_without_an_order_leaves_no_order_event(seller, buyer_api, support_api):
    events = Event.objects.count()
    filed = ok(report(buyer_api, seller, "spam", text="Messages me every day."), 201)

    assert filed["order_id"] is None
    assert Event.objects.count() == events
    assert queue(support_api) == [filed]


def test_the_queue_lists_open_reports_first_oldest_first(seller, buyer, buyer_api, support_api):
    first, second, third = (
        ok(report(buyer_api, seller, "abusive"), 201)["id"],
        ok(report(buyer_api, seller, "spam"), 201)["id"],
        ok(report(buyer_api, seller, "fraud"), 201)["id"],
    )

    handled = ok(support_api.post(f"/reports/{first}/handled"))

    assert handled["handled_by_id"] == support_api.user.pk and handled["handled_at"]
    assert [r["id"] for r in queue(support_api)] == [second, third, first]


def test_only_support_reads_and_handles_reports(seller, buyer_api, seller_api, support_api):
    report_id = ok(report(buyer_api, seller, "spam"), 201)["id"]
    before = trust_snapshot()

    refused(seller_api.get("/reports"), 403, "forbidden")
    refused(buyer_api.get("/reports"), 403, "forbidden")
    refused(seller_api.post(f"/reports/{report_id}/handled"), 403, "forbidden")
    refused(support_api.post("/reports/999999/handled"), 404, "not_found")
    assert trust_snapshot() == before

    ok(support_api.post(f"/reports/{report_id}/handled"))
    refused(support_api.post(f"/reports/{report_id}/handled"), 409, "already_handled")


def test_an_agent_does_not_handle_a_report_about_themselves(buyer_api, support, support_api):
    report_id = ok(report(buyer_api, support, "abusive"), 201)["id"]
    refused(support_api.post(f"/reports/{report_id}/handled"), 403, "forbidden")


def test_nobody_reports_themselves(order_id, buyer, buyer_api):
    before = trust_snapshot()
    refused(report(buyer_api, buyer, "spam"), 400, "self_report")
    refused(report(buyer_api, buyer, "spam", order_id=order_id), 400, "self_report")
    assert trust_snapshot() == before


def test_a_report_about_an_order_is_by_and_about_its_parties(
    order_id, buyer, seller, stranger, stranger_api, buyer_api, support_api
):
    before = trust_snapshot()
    # A stranger is told the order does not exist, as everywhere.
    refused(report(stranger_api, seller, order_id=order_id), 404, "not_found")
    refused(report(stranger_api, buyer, order_id=999999), 404, "not_found")
    refused(report(buyer_api, stranger, order_id=order_id), 400, "not_a_party")
    refused(report(support_api, seller, order_id=order_id), 403, "forbidden")
    refused(buyer_api.post("/users/999999/reports", {"reason": "spam"}), 404, "not_found")
    assert trust_snapshot() == before


def test_other_needs_a_text(seller, buyer_api):
    before = trust_snapshot()
    refused(report(buyer_api, seller, "other"), 400, "invalid")
    refused(report(buyer_api, seller, "other", text=" "), 400, "invalid")
    assert trust_snapshot() == before
    ok(report(buyer_api, seller, "other", text="Fake reviews."), 201)


def test_one_user_has_at_most_five_open_reports_about_another(
    seller, buyer_api, stranger_api, support_api
):
    ids = [ok(report(buyer_api, seller, "spam"), 201)["id"] for _ in range(MAX_OPEN_REPORTS)]
    before = trust_snapshot()

    refused(report(buyer_api, seller, "fraud"), 409, "too_many_reports")
    assert trust_snapshot() == before

    ok(report(stranger_api, seller, "spam"), 201)  # another reporter is not limited by it
    ok(support_api.post(f"/reports/{ids[0]}/handled"))
    ok(report(buyer_api, seller, "fraud"), 201)
    assert Report.objects.filter(subject=seller, handled_at=None).count() == MAX_OPEN_REPORTS + 1


def test_a_report_needs_a_token(db, seller):
    refused(report(Api(None), seller), 401, "not_authenticated")
    refused(Api(None).get("/reports"), 401, "not_authenticated")


# --- hostile input, generated ----------------------------------------------------------------

BAD_REPORT = {
    "reason": st.one_of(any_text.filter(lambda r: r not in ReportReason.values), not_a_string),
    "text": st.one_of(NUL_TEXT, too_long(5000), not_a_string),
    "order_id": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=2**63),
        not_an_int.filter(lambda v: v is not None),
    ),
}


def bad_reports(order_id: int) -> st.SearchStrategy:
    """A valid report with one field replaced by a bad value, or its reason left out, or
    'other' with a blank text."""
    base = {"reason": "fraud", "text": "Sent a phishing link.", "order_id": order_id}
    one_bad = st.sampled_from(sorted(BAD_REPORT)).flatmap(
        lambda field: BAD_REPORT[field].map(lambda value: {**base, field: value})
    )
    no_reason = st.just({"text": "Sent a phishing link."})
    blank_other = BLANK.map(lambda text: {"reason": "other", "text": text})
    return one_bad | no_reason | blank_other


def test_hostile_reports_are_refused_and_change_nothing(order_id, seller, buyer_api):
    before = trust_snapshot()

    @HOSTILE
    @given(body=bad_reports(order_id) | json_values.filter(lambda b: "reason" not in str(b)))
    def check(body):
        response = buyer_api.post(f"/users/{seller.pk}/reports", body)
        assert response.status_code in (400, 422), response.content
        assert_error(response)
        assert trust_snapshot() == before

    check()
