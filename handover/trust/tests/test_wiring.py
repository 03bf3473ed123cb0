"""What the rest of the product shows of trust: the seller sees who is asking before accepting
an order, and parties never see support's notes or reports among the order's events."""

from typing import Any

from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from handover.evidence.models import Event, EventType
from handover.lib.errors import InvalidInput
from handover.offers.models import Offer, OfferTerms
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import delivered_order, ok, open_dispute, refused
from handover.trust.rules import RiskThreshold


def test_the_seller_sees_the_buyers_record_before_accepting(seller, buyer_api, seller_api):
    offer = make_offer(seller, requires_acceptance=True)
    order_id = paid_order_awaiting(buyer_api, offer)
    seen = ok(seller_api.get(f"/orders/{order_id}"))
    assert seen["state"] == "awaiting_acceptance"
    assert seen["buyer_record"] is not None
    assert "as_buyer" in seen["buyer_record"]
    assert ok(buyer_api.get(f"/orders/{order_id}"))["buyer_record"] is None  # the seller's view


def paid_order_awaiting(buyer_api, offer) -> int:
    order = ok(buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["Acme", "Blue"]}), 201)
    assert ok(buyer_api.act(order["id"], "pay"))["state"] == "awaiting_acceptance"
    return order["id"]


def test_parties_do_not_see_support_notes_among_the_events(
    offer, buyer_api, seller_api, support_api
):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    dispute_id = open_dispute(buyer_api, order_id)
    ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": "Checked the files."}), 201)
    for api in (buyer_api, seller_api):
        types = [e["type"] for e in ok(api.get(f"/orders/{order_id}/events"))["items"]]
        assert "support.note" not in types
    types = [e["type"] for e in ok(support_api.get(f"/orders/{order_id}/events"))["items"]]
    assert "support.note" in types


# --- an offer's risk threshold -----------------------------------------------------------------

NEWCOMERS_WAIT = {"min_completed": 1}
OFFER = {
    "title": "Photo retouch",
    "price": 5000,
    "currency": "EUR",
    "delivery_days": 2,
    "terms": "T.",
}


def placed_event(order_id: int) -> dict[str, Any]:
    event = Event.objects.get(order_id=order_id, type=EventType.ORDER_PLACED)
    return event.payload


def test_a_buyer_whose_record_crosses_the_offers_threshold_waits_for_acceptance(
    seller, buyer_api, seller_api
):
    guarded = make_offer(seller, risk_threshold=NEWCOMERS_WAIT)
    plain = make_offer(seller)

    # A newcomer: no completed order yet, so the guarded offer waits for the seller.
    order_id = paid_order_awaiting(buyer_api, guarded)
    assert placed_event(order_id)["risks"] == ["completed 0 orders, fewer than 1"]
    assert placed_event(order_id)["requires_acceptance"] is True
    ok(seller_api.act(order_id, "accept-order"))

    # The plain offer has no threshold: straight to work, and nothing judged.
    plain_order, _ = delivered_order(buyer_api, seller_api, plain)
    assert "risks" not in placed_event(plain_order)
    ok(buyer_api.act(plain_order, "accept"))

    # One completed order later the same buyer is below the threshold.
    again = ok(buyer_api.post("/orders", {"offer_id": guarded.pk, "answers": ["A", "B"]}), 201)
    assert placed_event(again["id"])["risks"] == []
    assert ok(buyer_api.act(again["id"], "pay"))["state"] == "in_progress"


def test_the_threshold_is_stored_with_every_field_and_can_be_changed_or_dropped(seller_api):
    body = {**OFFER, "risk_threshold": {"max_disputes_lost": 0}}
    created = ok(seller_api.post("/offers", body), 201)
    expected = {**RiskThreshold().as_dict(), "max_disputes_lost": 0}
    assert created["risk_threshold"] == expected
    assert Offer.objects.get(pk=created["id"]).risk_threshold == expected

    changed = ok(seller_api.put(f"/offers/{created['id']}", {**body, "risk_threshold": {}}))
    assert changed["risk_threshold"] == RiskThreshold().as_dict()
    dropped = ok(seller_api.put(f"/offers/{created['id']}", {**body, "risk_threshold": None}))
    assert dropped["risk_threshold"] is None


_fields = st.sampled_from([*RiskThreshold().as_dict(), "max_refunds", "", "min_completed "])
_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)


def offer_rows() -> tuple[object, ...]:
    return db_snapshot(), list(Offer.objects.values_list()), list(OfferTerms.objects.values_list())


def _bad(threshold: object) -> bool:
    try:
        RiskThreshold.from_dict(threshold)  # type: ignore[arg-type]
    except InvalidInput:
        return True
    return False


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    threshold=st.one_of(
        st.dictionaries(_fields, _values, min_size=1, max_size=3),
        st.lists(st.integers(), max_size=2),
        st.text(max_size=5),
        st.integers(),
    )
)
def test_a_bad_threshold_is_refused_and_leaves_nothing_behind(seller_api, offer, threshold):
    assume(not isinstance(threshold, dict) or _bad(threshold))
    before = offer_rows()
    body = {**OFFER, "risk_threshold": threshold}
    created = seller_api.post("/offers", body)
    updated = seller_api.put(f"/offers/{offer.pk}", {**body, "terms": "Other terms."})
    for answer in (created, updated):
        if isinstance(threshold, dict):
            refused(answer, 400, "bad_threshold")
        else:
            refused(answer, 422, "validation_error")
    assert offer_rows() == before
