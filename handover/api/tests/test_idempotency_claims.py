from handover.api.models import IdempotencyRecord
from handover.conftest import db_snapshot
from handover.orders.models import Order


def test_a_claimed_key_without_an_answer_is_refused_and_nothing_runs(offer, buyer, buyer_api):
    # What a request that died between claiming its key and answering leaves behind.
    IdempotencyRecord.objects.create(
        scope=f"user:{buyer.pk}", key="k-1", fingerprint="x", status=0, content_type="", body=b""
    )
    before = db_snapshot()
    response = buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["a", "b"]}, key="k-1")
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_in_progress"
    assert db_snapshot() == before
    assert not Order.objects.exists()


def test_the_answer_is_stored_after_the_request_and_the_claim_is_filled(offer, buyer, buyer_api):
    response = buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["a", "b"]}, key="k-2")
    assert response.status_code == 201
    record = IdempotencyRecord.objects.get(scope=f"user:{buyer.pk}", key="k-2")
    assert record.status == 201 and bytes(record.body) == response.content
