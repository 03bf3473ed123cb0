"""What the rest of the product shows of trust: the seller sees who is asking before accepting
an order, and parties never see support's notes or reports among the order's events."""

from handover.conftest import make_offer
from handover.orders.tests.test_scenarios import delivered_order, ok, open_dispute


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
