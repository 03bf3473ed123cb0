from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from handover.api.middleware import IdempotencyMiddleware
from handover.api.models import IdempotencyRecord
from handover.orders.models import Order
from handover.testing.snapshots import db_snapshot


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


def _post_with_key(key: str):
    return RequestFactory().post(
        "/api/v1/anything", b"{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_streamed_answer_is_not_kept_and_its_key_can_run_again(db):
    runs = []

    def stream(request):
        runs.append(request)
        return StreamingHttpResponse(iter([b"chunk"]))

    middleware = IdempotencyMiddleware(stream)
    assert middleware(_post_with_key("s-1")).streaming
    assert middleware(_post_with_key("s-1")).streaming

    assert len(runs) == 2
    assert not IdempotencyRecord.objects.filter(key="s-1").exists()


def test_a_claim_is_kept_with_the_status_type_and_bytes_of_the_answer(db):
    body = bytes(range(256))  # every byte value survives the round trip
    middleware = IdempotencyMiddleware(
        lambda request: HttpResponse(body, status=418, content_type="application/x-teapot")
    )
    first = middleware(_post_with_key("b-1"))
    second = middleware(_post_with_key("b-1"))

    record = IdempotencyRecord.objects.get(scope__startswith="anon:", key="b-1")
    assert (record.status, record.content_type, bytes(record.body)) == (
        418,
        "application/x-teapot",
        body,
    )
    assert (second.status_code, second.content) == (first.status_code, body)
    assert second["Idempotent-Replayed"] == "true"
