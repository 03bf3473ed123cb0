"""A decision keeps its rationale and writes the event the parties are told from."""

import pytest

from handover.disputes.models import Dispute
from handover.evidence.models import Event
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import (
    PLATFORM_SHARE,
    SELLER_SHARE,
    TOTAL,
    delivered_order,
    ok,
    open_dispute,
    refused,
)


@pytest.fixture
def dispute_id(offer, buyer_api, seller_api) -> int:
    order_id, _file_id = delivered_order(buyer_api, seller_api, offer)
    return open_dispute(buyer_api, order_id)


@pytest.mark.parametrize("rationale", ["", "  \n "])
def test_a_decision_without_a_rationale_is_refused_and_changes_nothing(
    dispute_id, support_api, rationale
):
    before = db_snapshot()

    body = refused(
        support_api.post(
            f"/disputes/{dispute_id}/decision", {"outcome": "release", "text": rationale}
        ),
        400,
        "rationale_required",
    )

    assert "rationale" in body["detail"]
    assert db_snapshot() == before


def test_a_decision_with_no_rationale_field_is_refused(dispute_id, support_api):
    before = db_snapshot()

    refused(
        support_api.post(f"/disputes/{dispute_id}/decision", {"outcome": "release"}),
        422,
        "validation_error",
    )

    assert db_snapshot() == before


def test_the_decision_event_carries_outcome_money_and_rationale(dispute_id, support_api):
    rationale = "Half of the concepts were delivered as asked."

    decision = ok(
        support_api.post(
            f"/disputes/{dispute_id}/decision",
            {"outcome": "split", "refund": TOTAL // 2, "text": rationale},
        )
    )

    assert (decision["outcome"], decision["refund"], decision["decision_text"]) == (
        "split",
        TOTAL // 2,
        rationale,
    )
    dispute = Dispute.objects.get(pk=dispute_id)
    assert dispute.rationale == rationale
    event = Event.objects.filter(order_id=dispute.order_id, type="order.transition").last()
    assert event is not None and event.actor_role == "support"
    payload = event.payload
    assert (payload["action"], payload["dispute_id"], payload["outcome"]) == (
        "decide",
        dispute_id,
        "split",
    )
    assert (payload["rationale"], payload["refunded"], payload["total"]) == (
        rationale,
        TOTAL // 2,
        TOTAL,
    )
    assert payload["refund"] + payload["seller"] + payload["platform"] == TOTAL
    assert 0 < payload["seller"] < SELLER_SHARE and 0 < payload["platform"] < PLATFORM_SHARE
