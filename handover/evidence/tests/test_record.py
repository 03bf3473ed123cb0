"""The record nobody can rewrite: each order's events form a hash chain, every event becomes
a leaf of the signed Merkle log, and the database refuses to change what was written."""

import base64
import json
import time

import pytest
from django.db import DatabaseError, connection, transaction

from handover.evidence import keys
from handover.evidence.chain import event_hash, tree_head_message
from handover.evidence.log import log_sequence, log_step, tree_for, tree_head_sign
from handover.evidence.merkle import leaf_hash, verify_inclusion
from handover.evidence.models import Event, LogEntry, TreeHead
from handover.evidence.triggers import APPEND_ONLY
from handover.ledger.models import Entry
from handover.testing.steps import delivered_order, ok, open_dispute


def test_each_orders_events_form_a_hash_chain(offer, buyer_api, seller_api):
    first, _ = delivered_order(buyer_api, seller_api, offer)
    second, _ = delivered_order(buyer_api, seller_api, offer)
    for order_id in (first, second):
        events = list(Event.objects.filter(order_id=order_id).order_by("id"))
        assert len(events) >= 3
        previous = ""
        for event in events:
            body = json.loads(event.body)
            assert event.hash == event_hash(event.body.encode())
            assert event.prev_hash == body["prev"] == previous
            assert (body["order"], body["type"], body["payload"]) == (
                order_id,
                event.type,
                event.payload,
            )
            previous = event.hash


def test_the_worker_puts_every_event_in_the_log_and_signs_its_head(
    offer, buyer_api, seller_api, settings
):
    delivered_order(buyer_api, seller_api, offer)
    count = Event.objects.count()
    assert log_sequence() == count
    assert log_sequence() == 0  # nothing twice
    head = tree_head_sign(force=True)
    assert head is not None and head.size == count
    raw = keys.public_raw()
    message = tree_head_message(
        size=head.size, root=head.root, signed_at=head.signed_at.isoformat(), key_id=head.key_id
    )
    assert keys.signature_valid(raw, message, head.signature)
    assert not keys.signature_valid(raw, message + b" ", head.signature)
    # Every event is provably in the signed tree.
    tree = tree_for(head.size)
    for entry in LogEntry.objects.select_related("event"):
        assert bytes(entry.leaf_hash) == leaf_hash(entry.event.body.encode())
        proof = tree.inclusion_proof(entry.seq, head.size)
        assert verify_inclusion(
            bytes(entry.leaf_hash), entry.seq, head.size, proof, bytes.fromhex(head.root)
        )


def test_the_sequencer_looks_only_above_what_it_sequenced(offer, buyer_api, seller_api):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL looks below the top too: see the late-commit test")
    delivered_order(buyer_api, seller_api, offer)
    first = Event.objects.order_by("id").first()
    assert first is not None
    log_sequence()
    # An event below the highest sequenced one, without a leaf, as if edited out of the log:
    # on SQLite it cannot appear later (one writer, ids in commit order), so it is not scanned.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS evidence_logentry_no_delete")
    LogEntry.objects.filter(event=first).delete()
    assert log_sequence() == 0


@pytest.mark.postgres
def test_a_late_commit_below_the_top_still_gets_its_leaf(offer, buyer_api, seller_api, monkeypatch):
    from handover.evidence import log

    delivered_order(buyer_api, seller_api, offer)
    events = list(Event.objects.order_by("id"))
    late, far = events[-2], events[0]
    # As if the transactions that wrote these two events committed after the rest were
    # sequenced: one just below the top (the window finds it), one far below (the sweep does).
    LogEntry.objects.bulk_create(
        LogEntry(seq=n, event_id=e.id, leaf_hash=leaf_hash(e.body.encode()))
        for n, e in enumerate(e for e in events if e not in (late, far))
    )
    monkeypatch.setattr(log, "_PG_WINDOW", events[-1].id - late.id + 1)
    monkeypatch.setattr(log._sweep, "last", time.monotonic())  # no sweep yet
    assert log_sequence() == 1
    assert LogEntry.objects.get(event=late).seq == len(events) - 2
    assert log_sequence() == 0  # the window does not reach the first event
    monkeypatch.setattr(log._sweep, "last", time.monotonic() - log._SWEEP_EVERY)
    assert log_sequence() == 1
    assert LogEntry.objects.get(event=far).seq == len(events) - 1


def test_a_head_is_signed_only_when_the_log_grew_and_the_interval_passed(
    offer, buyer_api, seller_api
):
    from datetime import timedelta

    from django.utils import timezone

    delivered_order(buyer_api, seller_api, offer)
    now = timezone.now()
    assert log_step(now)["tree_head"] > 0
    assert log_step(now + timedelta(seconds=5))["tree_head"] == 0  # nothing new
    ok(buyer_api.post("/orders", {"offer_id": offer.pk, "answers": ["Acme", "Blue"]}), 201)
    assert log_step(now + timedelta(seconds=10))["tree_head"] == 0  # too soon
    assert log_step(now + timedelta(seconds=61))["tree_head"] == Event.objects.count()
    assert TreeHead.objects.count() == 2


def test_the_public_key_is_published(db):
    from django.test import Client

    answer = Client().get("/api/v1/evidence/key").json()
    assert answer["algorithm"] == "Ed25519"
    assert base64.b64decode(answer["public_key"]) == keys.public_raw()
    assert answer["key_id"] == keys.key_id(keys.public_raw())


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET {pk} = {pk}", "DELETE FROM {table}"])
def test_the_database_refuses_to_change_the_record(
    table, statement, offer, buyer_api, seller_api, support_api
):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "hi"}), 201)
    dispute_id = open_dispute(buyer_api, order_id)
    ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": "Looked at it."}), 201)
    log_sequence()
    tree_head_sign(force=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        (rows,) = cursor.fetchone()
    assert rows > 0
    pk = "seq" if table == "evidence_logentry" else "id"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=table, pk=pk))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        assert cursor.fetchone() == (rows,)


def test_ledger_rows_cannot_be_edited_through_the_orm_either(offer, buyer_api, seller_api):
    delivered_order(buyer_api, seller_api, offer)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Entry.objects.all().update(amount=0)
