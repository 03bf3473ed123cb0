"""Support's internal notes: support writes them, the record keeps their hash, the parties
never read them."""

import pytest

from handover.accounts.models import Role
from handover.disputes.models import SupportNote
from handover.disputes.services import MAX_NOTE, dispute_open
from handover.evidence.models import Event
from handover.lib.canonical import json_sha256
from handover.orders import services
from handover.testing.actors import Api, make_user
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import ok, open_dispute, paid_order, refused


def everything() -> dict:
    return {**db_snapshot(), "SupportNote": list(SupportNote.objects.values_list())}


@pytest.fixture
def dispute_id(offer, buyer_api) -> int:
    return open_dispute(buyer_api, paid_order(buyer_api, offer))


def test_support_adds_a_note_and_the_record_keeps_only_its_hash(
    dispute_id, support, support_api, buyer_api
):
    text = "Seller's files match the brief; waiting for the buyer's examples."

    note = ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": text}), 201)

    stored = SupportNote.objects.get()
    assert (note["id"], note["dispute_id"], note["author"], note["text"]) == (
        stored.pk,
        dispute_id,
        support.username,
        text,
    )
    assert (stored.author_id, stored.text) == (support.pk, text)
    event = Event.objects.get(type="support.note")
    assert (event.order_id, event.actor_id, event.actor_role) == (
        stored.dispute.order_id,
        support.pk,
        "support",
    )
    assert event.payload == {
        "dispute_id": dispute_id,
        "note_id": stored.pk,
        "text_sha256": json_sha256(text),
    }
    # The parties do not see that support wrote a note; support sees it, as a hash only.
    path = f"/orders/{stored.dispute.order_id}/events"
    assert "support.note" not in buyer_api.get(path).content.decode()
    events = support_api.get(path).content.decode()
    assert "support.note" in events and "examples" not in events


def test_the_parties_may_not_write_notes(dispute_id, buyer_api, seller_api):
    before = everything()

    for api in (buyer_api, seller_api):
        refused(api.post(f"/disputes/{dispute_id}/notes", {"text": "Let me in"}), 403, "forbidden")

    assert everything() == before


def test_strangers_and_unknown_disputes_get_not_found(dispute_id, stranger_api, support_api):
    before = everything()

    refused(stranger_api.post(f"/disputes/{dispute_id}/notes", {"text": "Hi"}), 404, "not_found")
    refused(support_api.post("/disputes/999999/notes", {"text": "Hi"}), 404, "not_found")
    refused(support_api.post(f"/disputes/{2**70}/notes", {"text": "Hi"}), 404, "not_found")

    assert everything() == before


def test_a_support_agent_who_is_a_party_may_not_write_notes_on_their_own_dispute(offer):
    agent = make_user("agent", Role.SUPPORT)
    order = services.order_place(buyer=agent, offer_id=offer.pk, answers=["a", "b"])
    services.order_pay(order_id=order.pk, user=agent)
    dispute_open(order_id=order.pk, user=agent, text="Nothing yet.")
    dispute_id = order.disputes.get().pk
    refused(Api(agent).post(f"/disputes/{dispute_id}/notes", {"text": "Mine"}), 403, "forbidden")
    timeline = ok(Api(agent).get(f"/disputes/{dispute_id}/timeline"))
    assert all(item["kind"] != "note" for item in timeline["items"])


@pytest.mark.parametrize(
    ("text", "status", "error"),
    [
        ("", 400, "invalid"),
        ("   \n\t", 400, "invalid"),
        ("before\x00after", 400, "invalid"),
        ("x" * (MAX_NOTE + 1), 400, "invalid"),
        ("x" * 1_000_000, 400, "invalid"),
        (None, 422, "validation_error"),
        (["a list"], 422, "validation_error"),
    ],
    ids=["empty", "blank", "nul", "just-too-long", "huge", "null", "list"],
)
def test_a_hostile_note_is_refused_and_changes_nothing(
    dispute_id, support_api, text, status, error
):
    before = everything()

    refused(support_api.post(f"/disputes/{dispute_id}/notes", {"text": text}), status, error)

    assert everything() == before


def test_a_lone_surrogate_is_refused(dispute_id, support_api):
    before = everything()
    response = support_api.client.post(
        f"/api/v1/disputes/{dispute_id}/notes",
        '{"text": "\\udfff"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {support_api.token}", "Idempotency-Key": "k1"},
    )
    assert response.status_code in (400, 422), response.content
    assert everything() == before


def test_notes_are_never_edited_or_deleted(dispute_id, support_api):
    ok(support_api.post(f"/disputes/{dispute_id}/notes", {"text": "First look"}), 201)
    note = SupportNote.objects.get()

    note.text = "Rewritten"
    with pytest.raises(RuntimeError):
        note.save()
    with pytest.raises(RuntimeError):
        note.delete()
    assert SupportNote.objects.get().text == "First look"
