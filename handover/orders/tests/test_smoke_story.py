from django.core.files.uploadedfile import SimpleUploadedFile

from handover.evidence.models import Event


def test_seed_story_through_the_api(offer, buyer_api, seller_api, support_api):
    r = buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["ACME", "blue"]})
    assert r.status_code == 201, r.content
    order = r.json()
    assert order["state"] == "pending_payment"
    assert order["buyer_fee"] == 550 and order["total"] == 10550
    oid = order["id"]
    r = buyer_api.act(oid, "pay")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "in_progress"
    r = seller_api.post(
        f"/orders/{oid}/deliveries",
        data={"text": "Here it is", "files": [SimpleUploadedFile("logo.png", b"PNGDATA" * 100)]},
    )
    assert r.status_code == 201, r.content
    file_id = r.json()["files"][0]["id"]
    r = buyer_api.get(f"/files/{file_id}/original")
    assert r.status_code == 403, r.content
    assert r.json()["error"] == "originals_locked"
    r = buyer_api.act(oid, "request-cancellation", {"text": "changed my mind", "refund": 10550})
    assert r.status_code == 200, r.content
    r = seller_api.act(oid, "decline-cancellation", {"text": "The work is done as asked."})
    assert r.json()["state"] == "delivered"
    r = buyer_api.act(oid, "open-dispute", {"text": "I do not like it"})
    assert r.json()["state"] == "disputed"
    r = support_api.get("/disputes")
    assert r.status_code == 200
    dispute = r.json()["items"][0]
    r = support_api.post(
        f"/disputes/{dispute['id']}/decision",
        {"outcome": "release", "text": "Delivered as asked."},
    )
    assert r.status_code == 200, r.content
    assert r.json()["order_state"] == "completed"
    r = seller_api.get("/balance")
    assert r.json()["pending"] == 8000
    r = buyer_api.get(f"/files/{file_id}/original")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == b"PNGDATA" * 100
    assert Event.objects.filter(order_id=oid, type="file.original_refused").count() == 1
