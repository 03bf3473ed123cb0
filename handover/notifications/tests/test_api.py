"""The webhook and notification endpoints: a webhook's secret is shown once, users see and
remove only their own webhooks and read only their own e-mails."""

import pytest

from handover.notifications.models import Outbox, Webhook
from handover.notifications.services import MAX_WEBHOOKS
from handover.testing.steps import deliver, ok, paid_order, refused


def delete(api, webhook_id: int):
    return api.client.delete(f"/api/v1/webhooks/{webhook_id}", headers=api._headers(None))


def test_a_new_webhook_answers_its_secret_once(seller, seller_api):
    created = ok(
        seller_api.post(
            "/webhooks", {"url": "https://hooks.example/in", "events": ["order.transition"]}
        ),
        201,
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["order.transition"] and created["active"]
    webhook = Webhook.objects.get(pk=created["id"])
    assert (webhook.owner, webhook.secret) == (seller, created["secret"])

    listed = ok(seller_api.get("/webhooks"))
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == created["id"] and "secret" not in listed["items"][0]


def test_two_webhooks_get_different_secrets(seller_api):
    first = ok(seller_api.post("/webhooks", {"url": "https://a.example/"}), 201)
    second = ok(seller_api.post("/webhooks", {"url": "https://a.example/"}), 201)
    assert first["secret"] != second["secret"] and first["events"] == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"url": "ftp://example.com/"}, "bad_url"),
        ({"url": "https://me:pw@example.com/"}, "bad_url"),
        ({"url": "http://10.0.0.5/hook"}, "bad_url"),
        ({"url": "http://169.254.169.254/latest/"}, "bad_url"),
        ({"url": "https://example.com/", "events": ["order.teleported"]}, "bad_events"),
        ({"url": "https://example.com/", "events": ["support.note"]}, "bad_events"),
    ],
)
def test_a_webhook_is_refused_a_bad_url_or_event_type(settings, seller_api, body, error):
    settings.HANDOVER_WEBHOOK_ALLOW_PRIVATE = False
    refused(seller_api.post("/webhooks", body), 400, error)
    assert not Webhook.objects.exists()


def test_a_user_has_a_bounded_number_of_webhooks(seller_api):
    for n in range(MAX_WEBHOOKS):
        ok(seller_api.post("/webhooks", {"url": f"https://h{n}.example/"}), 201)
    refused(
        seller_api.post("/webhooks", {"url": "https://one-more.example/"}), 400, "too_many_webhooks"
    )
    first = Webhook.objects.order_by("id").first()
    assert first is not None
    ok(delete(seller_api, first.pk))
    ok(seller_api.post("/webhooks", {"url": "https://one-more.example/"}), 201)


def test_only_the_owner_sees_and_removes_a_webhook(seller_api, buyer_api):
    created = ok(seller_api.post("/webhooks", {"url": "https://hooks.example/in"}), 201)
    assert ok(buyer_api.get("/webhooks"))["count"] == 0
    refused(delete(buyer_api, created["id"]), 404, "not_found")
    assert Webhook.objects.get().active

    removed = ok(delete(seller_api, created["id"]))
    assert removed["active"] is False and not Webhook.objects.get().active
    assert ok(delete(seller_api, created["id"]))["active"] is False  # again: the same answer


def test_notifications_list_my_emails_newest_first_in_pages(
    offer, buyer, seller, buyer_api, seller_api
):
    ok(buyer_api.post("/webhooks", {"url": "https://hooks.example/in"}), 201)
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Enjoy"}), 201)

    mine = ok(buyer_api.get("/notifications"))
    assert mine["count"] == 2
    assert [n["subject"] for n in mine["items"]] == [
        f"New message on order #{order_id}",
        f"Order #{order_id} was delivered",
    ]
    first = mine["items"][0]
    assert first["order_id"] == order_id and first["state"] == "pending"
    assert first["sent_at"] is None and "Enjoy" in first["body"]
    assert Outbox.objects.filter(webhook__owner=buyer).count() > 2  # not listed here

    second_page = ok(buyer_api.get("/notifications", limit=1, offset=1))
    assert second_page["count"] == 2
    assert [n["id"] for n in second_page["items"]] == [mine["items"][1]["id"]]

    theirs = ok(seller_api.get("/notifications"))
    assert [n["subject"] for n in theirs["items"]] == [f"Order #{order_id} is paid"]


def test_marking_read_through_the_api_reads_mine_as_the_page_does(
    offer, buyer, seller, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    mine = ok(buyer_api.get("/notifications"))["items"]
    assert [n["read_at"] for n in mine] == [None]
    assert mine[0]["url"].endswith(f"/orders/{order_id}/") and mine[0]["kind"] == "orders"

    assert ok(buyer_api.post("/notifications/read")) == {"marked": 1}
    assert ok(buyer_api.get("/notifications"))["items"][0]["read_at"] is not None
    assert ok(buyer_api.post("/notifications/read")) == {"marked": 0}
    assert [n["read_at"] for n in ok(seller_api.get("/notifications"))["items"]] == [None]
