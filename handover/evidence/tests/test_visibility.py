"""Each reader sees only what is theirs, by one rule (``evidence.visibility``) applied in the
events API, webhooks, the web timeline, the support desk and the evidence bundle: reports and
support's notes never reach the parties, a viewer's address and browser reach support only,
and ``handover verify`` still checks a bundle with events withheld."""

import io
import json
import zipfile
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from handover.evidence import keys
from handover.evidence.chain import seal_hash
from handover.evidence.models import Event, EventType, SealedValues
from handover.evidence.services import event_append
from handover.notifications.models import Channel, Outbox
from handover.notifications.services import webhook_create
from handover.orders.services import order_lock
from handover.records.tests.test_bundle import fetch_bundle
from handover.records.verify import Reason, report_lines, verify_bundle
from handover.testing.actors import Api
from handover.testing.files import deliver_files, png_bytes, upload
from handover.testing.steps import ok, open_dispute, paid_order, previews_run

pytestmark = pytest.mark.storage

ADDRESS = "203.0.113.77"
BROWSER = "Firefox/Buyer-Secret-Agent 9.9"
REPORT_TEXT = "Asked me to pay outside escrow"
NOTE_TEXT = "Checked the seller's earlier orders"


@pytest.fixture
def order_id(buyer_api, offer) -> int:
    return paid_order(buyer_api, offer)


@pytest.fixture
def file_id(seller_api, order_id) -> int:
    delivery = ok(deliver_files(seller_api, order_id, upload(png_bytes(), "logo.png")), 201)
    previews_run()
    return delivery["files"][0]["id"]


def looked(api: Api, file_id: int) -> None:
    """The buyer opens the preview and tries the original, from an address and a browser."""
    headers = {"Authorization": f"Bearer {api.token}", "User-Agent": BROWSER}
    for path in (f"/files/{file_id}/preview?part=0", f"/files/{file_id}/original"):
        response = api.client.get(f"/api/v1{path}", headers=headers, REMOTE_ADDR=ADDRESS)
        assert response.status_code in (200, 302, 403)  # 302: to a presigned link on S3
        if response.streaming:
            b"".join(response.streaming_content)  # type: ignore[attr-defined]


def reported(buyer_api: Api, seller, support_api: Api, order_id: int) -> None:
    body = {"reason": "off_platform_payment", "text": REPORT_TEXT, "order_id": order_id}
    ok(buyer_api.post(f"/users/{seller.pk}/reports", body), 201)
    dispute_id = open_dispute(buyer_api, order_id)
    ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": NOTE_TEXT}), 201)


def events_seen(api: Api, order_id: int) -> list[dict[str, Any]]:
    return ok(api.get(f"/orders/{order_id}/events", limit=100))["items"]


def bundle_members(api: Api, order_id: int, tmp_path, name: str):
    data = fetch_bundle(api, order_id)
    path = tmp_path / f"{name}.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return path, {n: archive.read(n) for n in archive.namelist()}


def every_text(members: dict[str, bytes]) -> str:
    return "\n".join(v.decode("utf-8", "replace") for v in members.values())


def test_a_reported_seller_never_learns_of_the_report_or_supports_notes(
    seller, buyer_api, seller_api, support_api, order_id, file_id, tmp_path
):
    webhook_create(owner=seller, url="https://hooks.example.com/in", events=[])
    reported(buyer_api, seller, support_api, order_id)
    kinds = {EventType.REPORT_FILED, EventType.SUPPORT_NOTE}
    assert Event.objects.filter(order_id=order_id, type__in=kinds).count() == 2

    assert not kinds & {e["type"] for e in events_seen(seller_api, order_id)}
    assert kinds <= {e["type"] for e in events_seen(support_api, order_id)}
    hooks = Outbox.objects.filter(channel=Channel.WEBHOOK, event__type__in=kinds)
    assert not hooks.exists()

    browser = Client()
    browser.force_login(seller)
    page = browser.get(f"/orders/{order_id}/").content.decode()
    assert "filed a report" not in page and REPORT_TEXT not in page

    path, members = bundle_members(seller_api, order_id, tmp_path, "seller")
    text = every_text(members)
    for secret in ("report.filed", "support.note", REPORT_TEXT, NOTE_TEXT, "off_platform"):
        assert secret not in text
    report = verify_bundle(path, keys.public_raw())
    assert report.ok, report.failures
    assert report.withheld == 2
    assert "2 withheld from this reader" in report_lines(report)[0]

    _path, members = bundle_members(support_api, order_id, tmp_path, "support")
    assert "report.filed" in members["events.jsonl"].decode()


def test_addresses_and_browsers_reach_support_only(
    buyer_api, seller_api, support_api, order_id, file_id, tmp_path
):
    looked(buyer_api, file_id)
    for api in (seller_api, buyer_api):
        for event in events_seen(api, order_id):
            assert "address" not in event["payload"] and "user_agent" not in event["payload"]
    seen = [e for e in events_seen(support_api, order_id) if e["type"].startswith("file.")]
    views = [e for e in seen if e["type"] != EventType.PREVIEW_MADE]
    assert len(views) == 2
    for event in views:
        assert (event["payload"]["address"], event["payload"]["user_agent"]) == (ADDRESS, BROWSER)

    # The seller's bundle holds every download event whole (their bodies name no address).
    path, members = bundle_members(seller_api, order_id, tmp_path, "seller")
    assert ADDRESS not in every_text(members) and BROWSER not in every_text(members)
    report = verify_bundle(path, keys.public_raw())
    assert report.ok and report.withheld == 0
    downloads = json.loads(members["downloads.json"])
    assert [d["type"] for d in downloads] == ["file.preview_viewed", "file.original_refused"]

    # Support's bundle has the sealed values, which check against the events.
    path, members = bundle_members(support_api, order_id, tmp_path, "support")
    sealed = json.loads(members["sealed.json"])
    # The payment's start seals where the buyer paid from (this client: no browser named).
    paid = Event.objects.get(order_id=order_id, type=EventType.PAYMENT_STARTED).pk
    assert [s["values"] for s in sealed if s["event_id"] == paid] == [
        {"address": "127.0.0.1", "user_agent": ""}
    ]
    assert {tuple(s["values"].values()) for s in sealed if s["event_id"] != paid} == {
        (ADDRESS, BROWSER)
    }
    assert verify_bundle(path, keys.public_raw()).ok


def test_support_desk_download_log_shows_the_address(
    buyer_api, support, support_api, order_id, file_id
):
    looked(buyer_api, file_id)
    dispute_id = open_dispute(buyer_api, order_id)
    browser = Client()
    browser.force_login(support)
    page = browser.get(f"/support/disputes/{dispute_id}/").content.decode()
    assert ADDRESS in page


def test_sealed_values_that_were_changed_are_caught(
    buyer_api, support_api, order_id, file_id, tmp_path
):
    looked(buyer_api, file_id)
    _path, members = bundle_members(support_api, order_id, tmp_path, "support")
    sealed = json.loads(members["sealed.json"])
    sealed[0]["values"]["address"] = "198.51.100.1"
    members["sealed.json"] = json.dumps(sealed).encode()
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(changed, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    report = verify_bundle(changed, keys.public_raw())
    assert Reason.SEALED_MISMATCH in report.reasons


def test_an_older_event_holding_an_address_is_withheld_from_the_parties_but_verifies(
    buyer, buyer_api, seller_api, order_id, file_id, tmp_path
):
    with transaction.atomic():  # as events were written before the values were sealed
        event_append(
            order=order_lock(order_id),
            type=EventType.PREVIEW_VIEWED,
            actor=buyer,
            actor_role="buyer",
            payload={"file_id": file_id, "address": ADDRESS, "user_agent": BROWSER, "bytes": 9},
        )
    [seen] = [e for e in events_seen(seller_api, order_id) if e["type"] == "file.preview_viewed"]
    assert seen["payload"] == {"file_id": file_id, "bytes": 9}

    path, members = bundle_members(seller_api, order_id, tmp_path, "seller")
    assert ADDRESS not in every_text(members)
    report = verify_bundle(path, keys.public_raw())
    assert report.ok, report.failures
    assert report.withheld == 1


def test_a_withheld_event_whose_hash_or_leaf_was_changed_fails(
    buyer_api, seller, seller_api, support_api, order_id, file_id, tmp_path
):
    reported(buyer_api, seller, support_api, order_id)
    _path, members = bundle_members(seller_api, order_id, tmp_path, "seller")
    lines = [json.loads(line) for line in members["events.jsonl"].splitlines()]
    withheld = next(n for n, line in enumerate(lines) if line.get("withheld"))
    for field, reason in (("hash", Reason.CHAIN_BROKEN), ("leaf", Reason.INCLUSION_FAILED)):
        changed = [dict(line) for line in lines]
        changed[withheld][field] = "0" * 64
        members["events.jsonl"] = "".join(json.dumps(c) + "\n" for c in changed).encode()
        out = tmp_path / f"changed-{field}.zip"
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        assert reason in verify_bundle(out, keys.public_raw()).reasons


def test_a_seal_is_salted_and_held_beside_the_event(buyer_api, order_id, file_id):
    looked(buyer_api, file_id)
    rows = list(SealedValues.objects.select_related("event"))
    # The payment's start, the preview view and the refused original.
    assert len(rows) == 3 and len({row.salt for row in rows}) == 3
    for row in rows:
        assert row.event.payload["sealed"] == seal_hash(row.salt, row.values)
        assert "address" not in row.event.body
