"""The seller's note for the bank is on the order's record: one ``chargeback.seller_note``
event each time it is set, written through the evidence core in the note's transaction; the
answer to the bank takes the latest; the seller and support read it, the buyer does not
(``evidence.visibility``); a refused note writes nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from handover.billing.chargebacks import chargeback_note_set, chargeback_record, seller_note_of
from handover.billing.evidence import evidence_fields
from handover.billing.models import ProviderDispute
from handover.evidence import keys
from handover.evidence.chain import event_hash
from handover.evidence.models import Event, EventType
from handover.evidence.tests.test_visibility import bundle_members, events_seen, every_text
from handover.lib.errors import TransitionNotAllowed
from handover.notifications.models import Channel, Outbox
from handover.notifications.services import webhook_create
from handover.orders.models import Order
from handover.orders.rules import State
from handover.records.verify import verify_bundle
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok, refused

pytestmark = pytest.mark.django_db

FIRST = "The buyer printed the logo on 500 mugs."
SECOND = "They also put it on their shop's sign (photo in the chat, 4 March)."


@pytest.fixture
def held(buyer, seller, support) -> Order:
    """A completed order that support put on chargeback hold (the bank's letter)."""
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    return chargeback_record(order_id=order.pk, user=support, reference="CB-1", text="Letter.")


def notes(order: Order) -> list[Event]:
    return list(Event.objects.filter(order=order, type=EventType.CHARGEBACK_NOTE).order_by("id"))


def test_the_sellers_note_is_an_event_with_its_text(held, seller, seller_api):
    answer = ok(seller_api.post(f"/orders/{held.pk}/chargeback-note", {"text": FIRST}))
    assert answer["seller_note"] == FIRST
    [event] = notes(held)
    assert (event.actor_id, event.actor_role) == (seller.pk, "seller")
    assert event.payload == {"reference": "CB-1", "note": FIRST}
    assert f'"note":"{FIRST}"' in event.body  # in the hashed body, not only the column


def test_a_replaced_note_is_a_second_event_and_the_latest_is_sent(held, seller):
    chargeback_note_set(order_id=held.pk, user=seller, text=FIRST)
    chargeback_note_set(order_id=held.pk, user=seller, text=SECOND)
    assert [e.payload["note"] for e in notes(held)] == [FIRST, SECOND]
    row = ProviderDispute.objects.get(order=held)
    assert seller_note_of(row) == SECOND
    sent = evidence_fields(row)["uncategorized_text"]
    assert f"The seller's note:\n{SECOND}" in sent and FIRST not in sent


def test_the_buyer_is_not_shown_the_note_the_seller_and_support_are(
    held, buyer, seller, support, buyer_api, seller_api, support_api, tmp_path
):
    webhook_create(owner=buyer, url="https://hooks.example.com/buyer", events=[])
    webhook_create(owner=seller, url="https://hooks.example.com/seller", events=[])
    chargeback_note_set(order_id=held.pk, user=seller, text=FIRST)

    path, members = bundle_members(buyer_api, held.pk, tmp_path, "buyer")
    assert FIRST not in every_text(members) and EventType.CHARGEBACK_NOTE not in every_text(members)
    report = verify_bundle(path, keys.public_raw())
    assert report.ok, report.failures
    assert report.withheld == 1
    for api, name in ((seller_api, "seller"), (support_api, "support")):
        path, members = bundle_members(api, held.pk, tmp_path, name)
        assert FIRST in members["events.jsonl"].decode()
        assert "wrote a note for the buyer" in members["timeline.html"].decode()
        report = verify_bundle(path, keys.public_raw())
        assert report.ok and report.withheld == 0, report.failures

    assert EventType.CHARGEBACK_NOTE not in {e["type"] for e in events_seen(buyer_api, held.pk)}
    assert EventType.CHARGEBACK_NOTE in {e["type"] for e in events_seen(seller_api, held.pk)}
    hooks = Outbox.objects.filter(channel=Channel.WEBHOOK, event__type=EventType.CHARGEBACK_NOTE)
    assert list(hooks.values_list("webhook__owner_id", flat=True)) == [seller.pk]

    for user, shown in ((buyer, False), (seller, True), (support, True)):
        browser = Client()
        browser.force_login(user)
        page = browser.get(f"/orders/{held.pk}/").content.decode()
        assert ("Wrote a note for the buyer" in page) is shown, user
        assert (FIRST in page) is shown, user


def test_a_refused_note_writes_nothing(held, buyer, seller, buyer_api):
    before = db_snapshot()
    refused(
        buyer_api.post(f"/orders/{held.pk}/chargeback-note", {"text": FIRST}),
        409,
        "transition_not_allowed",
    )
    assert db_snapshot() == before
    row = ProviderDispute.objects.get(order=held)
    row.due_by = timezone.now() + timedelta(days=1)  # inside the two days before the deadline
    row.save(update_fields=["due_by"])
    before = db_snapshot()
    with pytest.raises(TransitionNotAllowed, match="notes closed at its cut-off"):
        chargeback_note_set(order_id=held.pk, user=seller, text=FIRST)
    assert db_snapshot() == before
    assert notes(held) == []


@pytest.mark.django_db(transaction=True)
def test_a_note_kept_on_the_row_before_is_carried_into_the_record(buyer, seller, support):
    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    chargeback_record(order_id=order.pk, user=support, reference="CB-OLD", text="Letter.")
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("billing", "0003_provider_disputes")])
        old = executor.loader.project_state(("billing", "0003_provider_disputes")).apps
        old.get_model("billing", "ProviderDispute").objects.filter(dispute_id="CB-OLD").update(
            seller_note=FIRST
        )
        executor.loader.build_graph()
        executor.migrate([("billing", "0004_seller_note_in_the_record")])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    [event] = notes(order)
    assert (event.actor_id, event.payload) == (seller.pk, {"reference": "CB-OLD", "note": FIRST})
    assert seller_note_of(ProviderDispute.objects.get(order=order)) == FIRST
    before = Event.objects.filter(order=order, id__lt=event.pk).order_by("-id").first()
    assert before is not None and event.prev_hash == before.hash
    assert event.hash == event_hash(event.body.encode())
