"""An offer's risk threshold: read from JSON with every missing field at its default, unknown
fields and values out of bounds refused with `bad_threshold` and nothing written, and an
order from a buyer whose record crosses it waits for the seller's acceptance."""

from typing import Any

import pytest

from handover.evidence.models import Event, EventType
from handover.lib.errors import InvalidInput
from handover.offers.services import OfferFields, offer_create, offer_update
from handover.orders.models import Order
from handover.orders.rules import State
from handover.orders.services import order_pay, order_place
from handover.testing.actors import make_user
from handover.testing.factories import make_offer, offer_body, order_in_state
from handover.testing.snapshots import offer_rows
from handover.testing.steps import ok, place, refused
from handover.trust.rules import MAX_THRESHOLD_COUNT, RiskThreshold

DEFAULTS = {
    "max_release_cancellation_percent": 20,
    "max_disputes_lost": 1,
    "max_chargebacks": 0,
    "max_reporters": 2,
    "min_completed": 0,
}

# --- reading a threshold (no database) -----------------------------------------------------


def test_a_missing_threshold_or_missing_fields_take_the_defaults():
    assert RiskThreshold.from_dict(None).as_dict() == DEFAULTS
    assert RiskThreshold.from_dict({}).as_dict() == DEFAULTS
    assert RiskThreshold.from_dict({"max_chargebacks": 3}).as_dict() == {
        **DEFAULTS,
        "max_chargebacks": 3,
    }


def test_a_full_threshold_reads_back_as_written():
    written = {
        "max_release_cancellation_percent": 100,
        "max_disputes_lost": MAX_THRESHOLD_COUNT,
        "max_chargebacks": 0,
        "max_reporters": 7,
        "min_completed": MAX_THRESHOLD_COUNT,
    }
    assert RiskThreshold.from_dict(written).as_dict() == written


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(InvalidInput, match="max_refunds, min_completed ") as refusal:
        RiskThreshold.from_dict({"max_refunds": 1, "min_completed ": 1, "max_chargebacks": 0})
    assert refusal.value.code == "bad_threshold"


@pytest.mark.parametrize("value", [[], ["min_completed"], "min_completed=1", 3])
def test_a_threshold_that_is_not_an_object_is_refused(value):
    with pytest.raises(InvalidInput) as refusal:
        RiskThreshold.from_dict(value)
    assert refusal.value.code == "bad_threshold"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_disputes_lost", -1),
        ("max_disputes_lost", MAX_THRESHOLD_COUNT + 1),
        ("min_completed", 2**63),
        ("max_release_cancellation_percent", 101),
        ("max_release_cancellation_percent", -1),
        ("max_chargebacks", True),  # a bool is an int to Python, not to a threshold
        ("max_chargebacks", 1.0),
        ("max_chargebacks", "1"),
        ("max_chargebacks", None),
    ],
)
def test_a_value_out_of_bounds_or_not_a_whole_number_is_refused(name, value):
    with pytest.raises(InvalidInput, match=name) as refusal:
        RiskThreshold.from_dict({name: value})
    assert refusal.value.code == "bad_threshold"


# --- services --------------------------------------------------------------------------------


def with_threshold(threshold: Any) -> OfferFields:
    return OfferFields(**offer_body(risk_threshold=threshold))


def test_an_offer_stores_its_threshold_with_every_field_spelled_out(seller):
    offer = offer_create(seller=seller, fields=with_threshold({"max_disputes_lost": 0}))
    offer.refresh_from_db()
    assert offer.risk_threshold == {**DEFAULTS, "max_disputes_lost": 0}
    assert offer_create(seller=seller, fields=with_threshold(None)).risk_threshold is None


def test_a_change_sets_or_drops_the_threshold(offer, seller):
    offer_update(offer_id=offer.pk, seller=seller, fields=with_threshold({"min_completed": 2}))
    offer.refresh_from_db()
    assert offer.risk_threshold == {**DEFAULTS, "min_completed": 2}
    offer_update(offer_id=offer.pk, seller=seller, fields=with_threshold(None))
    offer.refresh_from_db()
    assert offer.risk_threshold is None


@pytest.mark.parametrize(
    "threshold", [{"max_refunds": 1}, {"min_completed": -1}, {"max_chargebacks": True}, [1]]
)
def test_a_bad_threshold_writes_nothing(threshold, offer, seller):
    before = offer_rows()
    for write in (
        lambda: offer_create(seller=seller, fields=with_threshold(threshold)),
        lambda: offer_update(offer_id=offer.pk, seller=seller, fields=with_threshold(threshold)),
    ):
        with pytest.raises(InvalidInput) as refusal:
            write()
        assert refusal.value.code == "bad_threshold"
    assert offer_rows() == before


# --- orders from risky buyers ----------------------------------------------------------------


@pytest.fixture
def lost_a_dispute(buyer, support) -> Any:
    """The buyer has lost one dispute: support released a delivery the buyer disputed."""
    order_in_state(
        State.COMPLETED,
        buyer=buyer,
        seller=make_user("other-seller"),
        support=support,
        from_state=State.DISPUTED,
    )
    return buyer


def placed(order: Order) -> dict[str, Any]:
    return Event.objects.get(order_id=order.pk, type=EventType.ORDER_PLACED).payload


def paid_state(order: Order, buyer) -> str:
    order_pay(order_id=order.pk, user=buyer)
    order.refresh_from_db()
    return order.state


def test_a_buyer_over_the_offers_threshold_waits_for_the_sellers_acceptance(seller, lost_a_dispute):
    buyer = lost_a_dispute
    offer = make_offer(seller, risk_threshold={"max_disputes_lost": 0})
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    assert order.requires_acceptance is True
    assert placed(order)["risks"] == ["lost 1 disputes"]
    assert placed(order)["requires_acceptance"] is True
    assert paid_state(order, buyer) == State.AWAITING_ACCEPTANCE


def test_the_same_buyer_within_the_threshold_goes_straight_to_work(seller, lost_a_dispute):
    buyer = lost_a_dispute
    offer = make_offer(seller, risk_threshold={"max_disputes_lost": 1})
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    assert order.requires_acceptance is False
    assert placed(order)["risks"] == []
    assert paid_state(order, buyer) == State.IN_PROGRESS


def test_an_offer_without_a_threshold_judges_no_buyer(seller, lost_a_dispute):
    buyer = lost_a_dispute
    offer = make_offer(seller)
    order = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    assert "risks" not in placed(order)
    assert paid_state(order, buyer) == State.IN_PROGRESS


def test_a_loosened_threshold_applies_to_the_next_order_only(seller, lost_a_dispute):
    buyer = lost_a_dispute
    offer = make_offer(seller, risk_threshold={"max_disputes_lost": 0})
    first = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    fields = OfferFields(**offer_body(risk_threshold={"max_disputes_lost": 5}))
    offer_update(offer_id=offer.pk, seller=seller, fields=fields)
    second = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    assert paid_state(first, buyer) == State.AWAITING_ACCEPTANCE
    assert paid_state(second, buyer) == State.IN_PROGRESS


# --- API -------------------------------------------------------------------------------------


def test_the_api_stores_the_threshold_spelled_out(seller_api):
    created = ok(seller_api.post("/offers", offer_body(risk_threshold={"max_reporters": 0})), 201)
    assert created["risk_threshold"] == {**DEFAULTS, "max_reporters": 0}
    shown = ok(seller_api.get(f"/offers/{created['id']}"))
    assert shown["risk_threshold"] == created["risk_threshold"]


@pytest.mark.parametrize(
    ("threshold", "status", "code"),
    [
        ({"max_refunds": 1}, 400, "bad_threshold"),
        ({"max_release_cancellation_percent": 101}, 400, "bad_threshold"),
        ({"max_chargebacks": False}, 400, "bad_threshold"),
        ({"min_completed": "1"}, 400, "bad_threshold"),
        ([{"min_completed": 1}], 422, "validation_error"),
        ("min_completed", 422, "validation_error"),
    ],
)
def test_the_api_refuses_a_bad_threshold_and_writes_nothing(
    threshold, status, code, offer, seller_api
):
    before = offer_rows()
    body = offer_body(risk_threshold=threshold)
    refused(seller_api.post("/offers", body), status, code)
    refused(seller_api.put(f"/offers/{offer.pk}", {**body, "terms": "Terms v2."}), status, code)
    assert offer_rows() == before


def test_through_the_api_a_risky_buyers_order_waits_and_the_seller_accepts_it(
    seller, seller_api, buyer_api, lost_a_dispute
):
    offer = make_offer(seller, risk_threshold={"max_disputes_lost": 0})
    order_id = place(buyer_api, offer)["id"]
    assert ok(buyer_api.act(order_id, "pay"))["state"] == "awaiting_acceptance"
    assert ok(seller_api.act(order_id, "accept-order"))["state"] == "in_progress"
