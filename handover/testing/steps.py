"""Scenario steps played through the API by the named actors, and the readings that check
them: responses, transitions, ledger balances.

Amounts: the default offer costs 10000 minor units; the buyer pays a 5.5 % fee (550, total
10550); the seller fee is 20 % (2000), so a completed order gives the seller 8000 and the
platform 2550.
"""

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from handover.delivery.models import DeliveryFile, PreviewState
from handover.delivery.previewing import preview_make
from handover.disputes.models import Dispute
from handover.evidence.models import Event
from handover.ledger.models import Account, Entry, LedgerTransaction

PRICE, BUYER_FEE, SELLER_FEE, TOTAL = 10000, 550, 2000, 10550
SELLER_SHARE = PRICE - SELLER_FEE
PLATFORM_SHARE = BUYER_FEE + SELLER_FEE


def balance(name: str, currency: str = "EUR") -> int:
    value = Account.objects.filter(name=name, currency=currency).values_list("balance", flat=True)
    return value.first() or 0


# A fully refunded order: every account it touched is back at zero.
NOTHING_HELD = dict.fromkeys(("world", "escrow", "pending", "available", "fees", "losses"), 0)


def balances(order_id: int, seller) -> dict[str, int]:
    return {
        "world": balance("world"),
        "escrow": balance(f"escrow:order:{order_id}"),
        "pending": balance(f"seller:{seller.pk}:pending"),
        "available": balance(f"seller:{seller.pk}:available"),
        "fees": balance("platform:fees"),
        "losses": balance("platform:losses"),
    }


def assert_ledger_consistent() -> None:
    """Every transaction sums to zero and every balance is the sum of its entries."""
    for txn in LedgerTransaction.objects.all():
        assert sum(txn.entries.values_list("amount", flat=True)) == 0, txn
    for account in Account.objects.all():
        total = Entry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == total, account


def ledger_kinds(order_id: int) -> list[str]:
    return list(LedgerTransaction.objects.filter(order_id=order_id).values_list("kind", flat=True))


def transitions(order_id: int) -> list[tuple[str, str, str]]:
    """The (action, from, to) of every transition event of the order, in order."""
    return [
        (p["action"], p["from"], p["to"])
        for p in Event.objects.filter(order_id=order_id, type="order.transition").values_list(
            "payload", flat=True
        )
    ]


def last_transition(order_id: int) -> Event:
    event = Event.objects.filter(order_id=order_id, type="order.transition").last()
    assert event is not None
    return event


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def refused(response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error, body
    assert body["detail"]
    return body


def place(buyer_api, offer, answers=("ACME", "blue")) -> dict[str, Any]:
    return ok(buyer_api.post("/orders", {"offer_id": offer.pk, "answers": list(answers)}), 201)


def paid_order(buyer_api, offer) -> int:
    order = place(buyer_api, offer)
    assert ok(buyer_api.act(order["id"], "pay"))["state"] == "in_progress"
    return order["id"]


def upload(content: bytes, name: str = "logo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def deliver(seller_api, order_id: int, content: bytes = b"ORIGINAL" * 64) -> dict[str, Any]:
    """Deliver one file, and make its preview as the worker would."""
    delivery = ok(
        seller_api.post(
            f"/orders/{order_id}/deliveries",
            data={"text": "Here it is", "files": [upload(content)]},
        ),
        201,
    )
    previews_run()
    return delivery


def previews_run() -> int:
    """Do what the worker does after a delivery: make every pending preview."""
    pending = list(
        DeliveryFile.objects.filter(preview_state=PreviewState.PENDING).values_list("pk", flat=True)
    )
    for file_id in pending:
        preview_make(file_id=file_id)
    return len(pending)


def delivered_order(buyer_api, seller_api, offer) -> tuple[int, int]:
    """A paid, delivered order and the id of its one original file."""
    order_id = paid_order(buyer_api, offer)
    file_id = deliver(seller_api, order_id)["files"][0]["id"]
    return order_id, file_id


def open_dispute(api, order_id: int, reason: str = "Not what I asked for") -> int:
    assert ok(api.act(order_id, "open-dispute", {"text": reason}))["state"] == "disputed"
    return Dispute.objects.get(order_id=order_id, decided_at__isnull=True).pk


def decide(support_api, dispute_id: int, outcome: str, refund: int | None = None):
    body: dict[str, Any] = {"outcome": outcome, "text": "Read the evidence."}
    if refund is not None:
        body["refund"] = refund
    return support_api.post(f"/disputes/{dispute_id}/decision", body)


def download(api, file_id: int):
    return api.get(f"/files/{file_id}/original")


def downloaded_bytes(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)
