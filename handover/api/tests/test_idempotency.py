"""Idempotency-Key on POST: a retry gets the stored answer and changes nothing more."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handover.accounts.models import User
from handover.api.middleware import MAX_KEY
from handover.api.models import IdempotencyRecord
from handover.delivery.models import Delivery, DeliveryFile
from handover.evidence.models import Event
from handover.ledger.models import LedgerTransaction
from handover.orders.models import Message, Order
from handover.testing.actors import PASSWORD
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import SELLER_SHARE, balances, deliver, ok, paid_order, refused


def assert_replayed(first, second) -> None:
    assert second.status_code == first.status_code
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


def test_a_retried_message_returns_the_stored_answer_and_posts_once(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    body = {"text": "Is blue fine?"}

    first = buyer_api.post(f"/orders/{order_id}/messages", body, key="msg-1")
    second = buyer_api.post(f"/orders/{order_id}/messages", body, key="msg-1")

    assert first.status_code == 201
    assert_replayed(first, second)
    assert Message.objects.filter(order_id=order_id).count() == 1
    assert Event.objects.filter(order_id=order_id, type="message.posted").count() == 1


def test_a_retried_accept_settles_the_order_once(offer, seller, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)

    first = buyer_api.act(order_id, "accept", key="accept-1")
    after_first = db_snapshot()
    second = buyer_api.act(order_id, "accept", key="accept-1")

    assert first.status_code == 200 and first.json()["state"] == "completed"
    assert_replayed(first, second)
    assert db_snapshot() == after_first
    assert LedgerTransaction.objects.filter(order_id=order_id, kind="settlement").count() == 1
    accepted = Event.objects.filter(order_id=order_id, payload__action="accept")
    assert accepted.count() == 1
    assert balances(order_id, seller)["pending"] == SELLER_SHARE


def test_a_retried_order_placement_creates_one_order(offer, buyer_api):
    body = {"offer_id": offer.pk, "answers": ["ACME", "blue"]}

    first = buyer_api.post("/orders", body, key="place-1")
    second = buyer_api.post("/orders", body, key="place-1")

    assert first.status_code == 201
    assert_replayed(first, second)
    assert Order.objects.count() == 1
    assert Event.objects.filter(type="order.placed").count() == 1


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "first"}, key="k"), 201)
    before = db_snapshot()

    other_body = buyer_api.post(f"/orders/{order_id}/messages", {"text": "second"}, key="k")
    other_path = buyer_api.act(order_id, "request-cancellation", {"text": "first"}, key="k")

    refused(other_body, 422, "idempotency_key_reused")
    refused(other_path, 422, "idempotency_key_reused")
    assert db_snapshot() == before


def test_keys_are_per_user(offer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    body = {"text": "same words"}

    ok(buyer_api.post(f"/orders/{order_id}/messages", body, key="shared"), 201)
    ok(seller_api.post(f"/orders/{order_id}/messages", body, key="shared"), 201)

    authors = Message.objects.filter(order_id=order_id).values_list("author_role", flat=True)
    assert sorted(authors) == ["buyer", "seller"]


@pytest.mark.parametrize("key", ["x" * (MAX_KEY + 1), "tab\tkey", "new\nline"])
def test_a_bad_key_is_refused_before_anything_runs(offer, buyer_api, key):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    r = buyer_api.post(f"/orders/{order_id}/messages", {"text": "hi"}, key=key)

    refused(r, 400, "bad_idempotency_key")
    assert db_snapshot() == before
    assert not IdempotencyRecord.objects.filter(key=key).exists()


def test_a_key_of_the_maximum_length_is_accepted(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    key = "k" * MAX_KEY

    first = buyer_api.post(f"/orders/{order_id}/messages", {"text": "hi"}, key=key)
    second = buyer_api.post(f"/orders/{order_id}/messages", {"text": "hi"}, key=key)

    assert first.status_code == 201
    assert_replayed(first, second)


def test_a_conflict_answer_is_replayed_even_after_the_move_became_possible(
    offer, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    first = buyer_api.act(order_id, "accept", key="early-accept")
    refused(first, 409, "transition_not_allowed")
    deliver(seller_api, order_id)

    second = buyer_api.act(order_id, "accept", key="early-accept")

    assert_replayed(first, second)
    assert Order.objects.get(pk=order_id).state == "delivered"
    assert not LedgerTransaction.objects.filter(order_id=order_id, kind="settlement").exists()


def test_a_retried_multipart_delivery_stores_one_delivery(offer, buyer_api, seller_api, settings):
    order_id = paid_order(buyer_api, offer)

    def send():
        # A fresh upload each time, as a client retrying from disk would send it.
        files = [SimpleUploadedFile("a.png", b"A" * 300), SimpleUploadedFile("b.txt", b"B")]
        return seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={"text": "Final", "files": files},
            key="deliver-1",
        )

    first = send()
    second = send()

    assert first.status_code == 201
    assert_replayed(first, second)
    assert Delivery.objects.filter(order_id=order_id).count() == 1
    assert DeliveryFile.objects.count() == 2
    delivered = Event.objects.filter(order_id=order_id, payload__action="deliver")
    assert delivered.count() == 1
    stored = settings.STORAGES["default"]["OPTIONS"]["location"]
    assert len([p for p in Path(stored).rglob("*") if p.is_file()]) == 2


def test_a_retried_delivery_with_other_files_is_refused(offer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    ok(
        seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={"text": "Final", "files": [SimpleUploadedFile("a.png", b"A")]},
            key="deliver-2",
        ),
        201,
    )

    r = seller_api.post(
        f"/orders/{order_id}/deliveries",
        data={"text": "Final", "files": [SimpleUploadedFile("a.png", b"AA")]},
        key="deliver-2",
    )

    refused(r, 422, "idempotency_key_reused")
    assert Delivery.objects.filter(order_id=order_id).count() == 1


def test_requests_without_a_key_run_every_time_and_store_nothing(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    IdempotencyRecord.objects.all().delete()

    for _ in range(2):
        ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "ping"}, key=None), 201)

    assert Message.objects.filter(order_id=order_id).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_token_exchange_is_never_stored_or_replayed(buyer, buyer_api):
    body = {"username": buyer.username, "password": PASSWORD}
    first = buyer_api.post("/auth/token", body, key="login")
    second = buyer_api.post("/auth/token", body, key="login")

    assert first.status_code == second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    assert "Idempotent-Replayed" not in second
    assert not IdempotencyRecord.objects.filter(key="login").exists()


def test_an_anonymous_sign_up_retried_creates_one_account(db, client):
    body = json.dumps({"username": "newcomer", "email": "n@example.com", "password": "Zx9-long-pw"})
    headers = {"Idempotency-Key": "signup-1"}

    first = client.post("/api/v1/users", body, content_type="application/json", headers=headers)
    second = client.post("/api/v1/users", body, content_type="application/json", headers=headers)

    assert first.status_code == 201
    assert_replayed(first, second)
    assert User.objects.filter(username="newcomer").count() == 1


def test_a_retried_delivery_with_other_bytes_of_the_same_names_and_sizes_is_refused(
    offer, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    first = [SimpleUploadedFile("a.png", b"A" * 64), SimpleUploadedFile("b.txt", b"B" * 32)]
    created = ok(
        seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={"text": "Final", "files": first},
            key="deliver-3",
        ),
        201,
    )
    # The same names and sizes, one byte different in the second file.
    other = [SimpleUploadedFile("a.png", b"A" * 64), SimpleUploadedFile("b.txt", b"B" * 31 + b"C")]
    r = seller_api.post(
        f"/orders/{order_id}/deliveries",
        data={"text": "Final", "files": other},
        key="deliver-3",
    )

    refused(r, 422, "idempotency_key_reused")
    assert Delivery.objects.filter(order_id=order_id).count() == 1
    # The same bytes again are the same request: the stored answer.
    same = [SimpleUploadedFile("a.png", b"A" * 64), SimpleUploadedFile("b.txt", b"B" * 32)]
    again = seller_api.post(
        f"/orders/{order_id}/deliveries",
        data={"text": "Final", "files": same},
        key="deliver-3",
    )
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == created


def test_anonymous_keys_are_scoped_to_the_client_address(db, client):
    headers = {"Idempotency-Key": "signup-shared"}

    def sign_up(name: str, address: str):
        body = json.dumps(
            {"username": name, "email": f"{name}@example.com", "password": "Zx9-long-pw"}
        )
        return client.post(
            "/api/v1/users",
            body,
            content_type="application/json",
            headers=headers,
            REMOTE_ADDR=address,
        )

    first = sign_up("alice1", "198.51.100.10")
    second = sign_up("bob2", "198.51.100.11")  # another client that chose the same key

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["username"] == "alice1" and second.json()["username"] == "bob2"
    # From the first address the key is still the first request's.
    refused(sign_up("carol3", "198.51.100.10"), 422, "idempotency_key_reused")
