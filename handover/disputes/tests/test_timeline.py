"""One merged timeline per dispute: the order's events, messages, deliveries, downloads and
support's notes in time order; the parties see it all but the notes."""

import json
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handover.orders import services
from handover.testing.steps import decide, ok, open_dispute, paid_order, refused

MINUTE = timedelta(minutes=1)


def a_disputed_story(offer, buyer_api, seller_api, support_api, clock) -> tuple[int, int, int]:
    """Order, chat, a delivery with a checklist, an early release, a download, a dispute and
    a note, a minute apart; returns (order id, dispute id, file id)."""
    order_id = paid_order(buyer_api, offer)
    clock.shift(MINUTE)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "Blue, please"}), 201)
    clock.shift(MINUTE)
    delivery = ok(
        seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={
                "text": "Here it is",
                "checklist": json.dumps([{"requirement": 1, "note": "blue"}]),
                "files": [SimpleUploadedFile("logo.txt", b"the logo\n")],
            },
        ),
        201,
    )
    clock.shift(MINUTE)
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery["id"]}))
    clock.shift(MINUTE)
    file_id = delivery["files"][0]["id"]
    response = buyer_api.get(f"/files/{file_id}/original")
    b"".join(response.streaming_content)
    clock.shift(MINUTE)
    dispute_id = open_dispute(buyer_api, order_id, "Not blue enough")
    clock.shift(MINUTE)
    ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": "Colour looks blue to me."}), 201)
    return order_id, dispute_id, file_id


def test_support_sees_one_timeline_in_time_order_with_the_notes(
    offer, buyer, seller, support, buyer_api, seller_api, support_api, clock
):
    order_id, dispute_id, file_id = a_disputed_story(
        offer, buyer_api, seller_api, support_api, clock
    )

    timeline = ok(support_api.get(f"/disputes/{dispute_id}/timeline"))

    assert (timeline["dispute_id"], timeline["order_id"]) == (dispute_id, order_id)
    items = timeline["items"]
    seen = [(i["kind"], i["role"], i["actor"]) for i in items]
    assert seen == [
        ("event", "buyer", buyer.username),  # placed
        ("event", "buyer", buyer.username),  # payment started
        ("event", "provider", None),  # payment captured
        ("message", "buyer", buyer.username),
        ("delivery", "seller", seller.username),
        ("event", "seller", seller.username),  # released early
        ("download", "buyer", buyer.username),
        ("event", "buyer", buyer.username),  # dispute opened
        ("note", "support", support.username),
    ]
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    summaries = [i["summary"] for i in items]
    assert summaries[3] == "Buyer: “Blue, please”"
    assert summaries[4] == (
        "Seller delivered 1 file (logo.txt), ticking 1 of 2 requirement items: “Here it is”"
    )
    assert summaries[6] == "Buyer: downloaded the original of logo.txt"
    assert summaries[7] == "Buyer: opened a dispute, “Not blue enough” (delivered → disputed)"
    assert summaries[8] == "Internal note: “Colour looks blue to me.”"
    delivery = items[4]["data"]
    assert [f["id"] for f in delivery["files"]] == [file_id]
    assert delivery["checklist"] == [{"requirement": 1, "question": "Colours?", "note": "blue"}]
    assert items[6]["data"]["payload"]["file_id"] == file_id
    assert items[8]["data"]["text"] == "Colour looks blue to me."


def test_the_parties_see_the_timeline_without_the_notes(
    offer, buyer_api, seller_api, support_api, clock
):
    _order_id, dispute_id, _file_id = a_disputed_story(
        offer, buyer_api, seller_api, support_api, clock
    )
    everything = ok(support_api.get(f"/disputes/{dispute_id}/timeline"))["items"]
    # Support also reads where each file was fetched from (evidence.visibility).
    for item in everything:
        payload = item["data"].get("payload", {})
        if item["kind"] in ("preview", "download"):
            assert {"address", "user_agent"} <= set(payload)
        for field in ("address", "user_agent"):
            payload.pop(field, None)

    for api in (buyer_api, seller_api):
        items = ok(api.get(f"/disputes/{dispute_id}/timeline"))["items"]
        assert items == [i for i in everything if i["kind"] != "note"]
        assert "Colour looks blue" not in json.dumps(items)
        assert "support.note" not in json.dumps(items)


def test_the_parties_do_not_see_a_report_filed_on_the_order(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id, dispute_id, _file_id = a_disputed_story(
        offer, buyer_api, seller_api, support_api, clock
    )
    seller_id = seller_api.user.pk
    report = {"reason": "abusive", "text": "Rude in the chat.", "order_id": order_id}
    ok(buyer_api.post(f"/users/{seller_id}/reports", report), 201)

    everything = ok(support_api.get(f"/disputes/{dispute_id}/timeline"))["items"]
    assert "report.filed" in json.dumps(everything)
    for api in (buyer_api, seller_api):
        items = ok(api.get(f"/disputes/{dispute_id}/timeline"))["items"]
        assert "report.filed" not in json.dumps(items)  # as GET /orders/{id}/events hides it


def test_strangers_are_told_the_dispute_does_not_exist(offer, buyer_api, stranger_api):
    dispute_id = open_dispute(buyer_api, paid_order(buyer_api, offer))

    refused(stranger_api.get(f"/disputes/{dispute_id}/timeline"), 404, "not_found")
    refused(stranger_api.get("/disputes/999999/timeline"), 404, "not_found")


def test_the_decision_shows_on_the_timeline_with_its_rationale(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id = paid_order(buyer_api, offer)
    dispute_id = open_dispute(buyer_api, order_id)
    clock.shift(MINUTE)
    ok(decide(support_api, dispute_id, "refund"))

    *_, last, refund = ok(buyer_api.get(f"/disputes/{dispute_id}/timeline"))["items"]

    assert (last["kind"], last["role"]) == ("event", "support")
    assert last["summary"] == (
        "Support: decided the dispute, refund, 105.50 EUR back to the buyer,"
        " “Read the evidence.” (disputed → cancelled)"
    )
    # The refund the decision sent follows it, confirmed by the (test) provider.
    assert (refund["role"], refund["summary"]) == (
        "provider",
        "Provider: the refund to the buyer was confirmed",
    )


def test_the_timeline_costs_the_same_however_long_the_history(
    offer, seller, buyer_api, seller_api, support_api, clock
):
    order_id, dispute_id, _ = a_disputed_story(offer, buyer_api, seller_api, support_api, clock)
    support_api.get(f"/disputes/{dispute_id}/timeline")

    def count(api) -> int:
        with CaptureQueriesContext(connection) as captured:
            ok(api.get(f"/disputes/{dispute_id}/timeline"))
        return len(captured.captured_queries)

    few = {"support": count(support_api), "buyer": count(buyer_api)}
    for n in range(20):
        services.message_post(order_id=order_id, user=seller, text=f"message {n}")
        ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": f"note {n}"}), 201)

    assert {"support": count(support_api), "buyer": count(buyer_api)} == few
