"""Shared by the trust tests: orders that have ended, and a snapshot that includes reviews
and reports."""

from typing import Any

from handover.testing.snapshots import db_snapshot
from handover.testing.steps import delivered_order, ok
from handover.trust.models import Report, Review


def trust_snapshot() -> dict[str, Any]:
    """``db_snapshot`` with the trust tables: 'nothing changed' includes them."""
    return {
        **db_snapshot(),
        **{
            model.__name__: sorted(model.objects.values_list(), key=str)
            for model in (Review, Report)
        },
    }


def completed_order(buyer_api, seller_api, offer) -> int:
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    assert ok(buyer_api.act(order_id, "accept"))["state"] == "completed"
    return order_id


def review(api, order_id: int, rating: int = 5, text: str = "Great work.") -> Any:
    return api.post(f"/orders/{order_id}/review", {"rating": rating, "text": text})


def reviews_of(api, order_id: int) -> dict[str, Any]:
    return ok(api.get(f"/orders/{order_id}/reviews"))
