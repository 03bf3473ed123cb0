"""The pay step records where the buyer paid from, as a download records its viewer: the
address and browser sealed on the ``payment.started`` event, read by support only; the
parties' bundles keep the event whole, with its seal, and verify."""

import io
import json
import zipfile

import pytest
from django.test import Client

from handover.evidence import keys
from handover.evidence.chain import seal_hash
from handover.evidence.models import Event, EventType, SealedValues
from handover.orders import services
from handover.records.tests.test_bundle import fetch_bundle
from handover.records.verify import verify_bundle
from handover.testing.actors import Api
from handover.testing.steps import ok, place

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.23"
BROWSER = "Mozilla/5.0 Buyer-Pay-Browser/7.1"


def paid_from(api: Api, order_id: int, address: str = ADDRESS, browser: str = BROWSER):
    """The buyer pays through the API from ``address`` with ``browser``."""
    environ = {"REMOTE_ADDR": address, "HTTP_USER_AGENT": browser}
    api.client.defaults.update(environ)  # the actor's client, not a new one
    try:
        return ok(api.act(order_id, "pay"))
    finally:
        for name in environ:
            api.client.defaults.pop(name)


def started(order_id: int) -> Event:
    return Event.objects.select_related("sealed").get(
        order_id=order_id, type=EventType.PAYMENT_STARTED
    )


def payment_seen(api: Api, order_id: int) -> dict:
    items = ok(api.get(f"/orders/{order_id}/events", limit=100))["items"]
    [event] = [e for e in items if e["type"] == EventType.PAYMENT_STARTED]
    return event["payload"]


def test_the_pay_step_seals_the_buyers_address_and_browser_for_support_only(
    buyer_api, seller_api, support_api, offer
):
    order_id = place(buyer_api, offer)["id"]
    assert paid_from(buyer_api, order_id)["state"] == "in_progress"

    event = started(order_id)
    assert event.sealed.values == {"address": ADDRESS, "user_agent": BROWSER}
    assert event.payload["sealed"] == seal_hash(event.sealed.salt, event.sealed.values)
    assert ADDRESS not in event.body and BROWSER not in event.body
    for party in (buyer_api, seller_api):
        seen = payment_seen(party, order_id)
        assert set(seen) == {"provider", "reference", "sealed"}
    seen = payment_seen(support_api, order_id)
    assert (seen["address"], seen["user_agent"]) == (ADDRESS, BROWSER)


def test_the_web_pay_page_seals_the_address_it_was_posted_from(buyer, buyer_api, offer):
    order_id = place(buyer_api, offer)["id"]
    browser = Client()
    browser.force_login(buyer)
    page = browser.post(
        f"/orders/{order_id}/pay/", REMOTE_ADDR="2001:db8::7", HTTP_USER_AGENT=BROWSER
    )
    assert page.status_code == 302
    assert started(order_id).sealed.values == {"address": "2001:db8::7", "user_agent": BROWSER}


def test_a_payment_started_by_no_request_seals_nothing(buyer, buyer_api, offer):
    order_id = place(buyer_api, offer)["id"]
    services.order_pay(order_id=order_id, user=buyer)  # as the demo does
    event = started(order_id)
    assert "sealed" not in event.payload
    assert not SealedValues.objects.filter(event=event).exists()


def _members(api: Api, order_id: int, path) -> dict[str, bytes]:
    data = fetch_bundle(api, order_id)
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_parties_bundles_verify_without_the_address_and_supports_shows_it(
    buyer_api, seller_api, support_api, offer, tmp_path
):
    order_id = place(buyer_api, offer)["id"]
    paid_from(buyer_api, order_id)
    event = started(order_id)

    for name, api in (("buyer", buyer_api), ("seller", seller_api)):
        path = tmp_path / f"{name}.zip"
        members = _members(api, order_id, path)
        text = b"\n".join(members.values()).decode("utf-8", "replace")
        assert ADDRESS not in text and BROWSER not in text
        assert "sealed.json" not in members
        assert event.hash in members["events.jsonl"].decode()  # the event whole, with its seal
        report = verify_bundle(path, keys.public_raw())
        assert report.ok, report.failures
        assert report.withheld == 0

    path = tmp_path / "support.zip"
    members = _members(support_api, order_id, path)
    sealed = json.loads(members["sealed.json"])
    assert [s["values"] for s in sealed if s["event_id"] == event.pk] == [
        {"address": ADDRESS, "user_agent": BROWSER}
    ]
    assert f"From {ADDRESS} ({BROWSER})" in members["timeline.html"].decode()
    assert "bytes sent" not in members["timeline.html"].decode()
    assert verify_bundle(path, keys.public_raw()).ok
