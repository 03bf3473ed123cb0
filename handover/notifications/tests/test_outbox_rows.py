"""Events written through the API queue their e-mails and webhook calls in the same
transaction: a change that commits has its outbox rows, one that fails has none."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from handover.evidence.models import Event
from handover.notifications.models import Channel, Notification, Outbox, OutboxState, Webhook
from handover.notifications.services import event_json, notifications_for_event
from handover.orders import services as orders
from handover.orders.notices import transition_notice
from handover.orders.rules import Action, State
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.steps import (
    decide,
    deliver,
    last_transition,
    ok,
    open_dispute,
    paid_order,
    place,
    refused,
)


def webhook(owner, url="https://hooks.example/in", **fields) -> Webhook:
    return Webhook.objects.create(
        owner=owner, url=url, secret="whsec_test", created_at=timezone.now(), **fields
    )


def emails() -> list[tuple[int | None, str]]:
    """(recipient id, subject) of every queued e-mail, in the order written."""
    rows = Outbox.objects.filter(channel=Channel.EMAIL).order_by("id")
    return [(row.recipient_id, row.subject) for row in rows]


def emails_for(event: Event) -> set[int]:
    rows = Outbox.objects.filter(event=event, channel=Channel.EMAIL)
    return set(rows.values_list("recipient_id", flat=True))


def test_payment_mails_the_seller(offer, seller, buyer_api):
    order_id = paid_order(buyer_api, offer)
    assert emails() == [(seller.pk, f"Order #{order_id} is paid")]
    row = Outbox.objects.get()
    assert row.event == last_transition(order_id)
    assert row.state == OutboxState.PENDING and row.attempts == 0
    assert row.next_attempt_at == row.created_at == row.event.created_at
    assert "The work can start." in row.body


def test_a_delivery_mails_the_buyer_only(offer, buyer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    event = last_transition(order_id)
    assert event.payload["action"] == "deliver"
    assert emails_for(event) == {buyer.pk}
    row = Outbox.objects.get(event=event)
    assert row.subject == f"Order #{order_id} was delivered"
    assert "Message:\nHere it is" in row.body


def test_a_dispute_mails_the_other_party_and_support_and_its_decision_both_parties(
    offer, buyer, seller, support, buyer_api, seller_api, support_api
):
    other_agent = make_user("agent", support.role)
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    dispute_id = open_dispute(buyer_api, order_id, reason="Wrong colours")
    opened = last_transition(order_id)
    assert emails_for(opened) == {seller.pk, support.pk, other_agent.pk}
    assert "Reason:\nWrong colours" in Outbox.objects.filter(event=opened)[0].body

    ok(decide(support_api, dispute_id, "split", refund=5000))
    decided = last_transition(order_id)
    assert emails_for(decided) == {buyer.pk, seller.pk}
    body = Outbox.objects.filter(event=decided, recipient=buyer).get().body
    assert "Outcome: split" in body and "Rationale:\nRead the evidence." in body
    assert "Refunded to the buyer: 50.00 EUR" in body


def test_the_acting_user_is_not_mailed_about_their_own_message(
    offer, buyer, seller, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "Any news?"}), 201)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Tomorrow."}), 201)
    messages = Outbox.objects.filter(event__type="message.posted").order_by("id")
    assert [(m.recipient_id, m.body.split("\n\n")[1]) for m in messages] == [
        (seller.pk, "Message:\nAny news?"),
        (buyer.pk, "Message:\nTomorrow."),
    ]


def test_a_refused_move_leaves_no_outbox_row(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    before = Outbox.objects.count()
    refused(buyer_api.act(order_id, "accept"), 409, "transition_not_allowed")
    assert Outbox.objects.count() == before


def test_a_transaction_that_fails_after_the_event_leaves_neither_event_nor_outbox_row(
    offer, buyer, buyer_api
):
    order_id = paid_order(buyer_api, offer)
    events, rows = Event.objects.count(), Outbox.objects.count()

    class Crash(Exception):
        pass

    with pytest.raises(Crash), transaction.atomic():
        orders.message_post(order_id=order_id, user=buyer, text="lost with the transaction")
        assert Outbox.objects.count() == rows + 1  # written, inside the transaction
        raise Crash

    assert (Event.objects.count(), Outbox.objects.count()) == (events, rows)


def test_webhooks_of_either_party_get_every_event_of_their_orders(
    offer, buyer, seller, stranger, buyer_api, seller_api
):
    everything = webhook(seller)
    transitions = webhook(buyer, events=["order.transition"])
    webhook(stranger)
    webhook(seller, active=False)

    order_id = paid_order(buyer_api, offer)

    events = list(Event.objects.filter(order_id=order_id))
    calls = Outbox.objects.filter(channel=Channel.WEBHOOK).order_by("id")
    assert [(c.webhook_id, c.event.type) for c in calls] == [
        (everything.pk, "order.placed"),
        (everything.pk, "payment.started"),
        *sorted([(everything.pk, "order.transition"), (transitions.pk, "order.transition")]),
    ]
    assert [c.event_id for c in calls if c.webhook_id == everything.pk] == [e.pk for e in events]
    for call in calls:
        assert call.payload == event_json(call.event)
        assert call.payload["order_id"] == order_id and call.recipient_id is None


def test_events_of_no_order_call_no_webhook_and_mail_nobody(seller, offer):
    webhook(seller)
    make_offer(seller, title="Another")
    assert Event.objects.filter(type="offer.created").count() == 2
    assert not Outbox.objects.exists()


def test_queuing_costs_a_query_for_webhooks_one_for_email_choices_and_one_insert_per_table(
    offer, buyer, seller, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    webhook(seller)
    deliver(seller_api, order_id)
    # As order_move hands it over: with the order it locked, and the move's notice.
    event = Event.objects.select_related("order").get(pk=last_transition(order_id).pk)
    notice = transition_notice(Action.DELIVER, State.DELIVERED)
    Outbox.objects.filter(event=event).delete()
    Notification.objects.filter(event=event).delete()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        notifications_for_event(event, notice=notice)
    sql = [q["sql"].split()[0] for q in captured.captured_queries]
    # The webhooks, and the buyer's choice of e-mails (a delivery's may be switched off).
    assert sql.count("SELECT") == 2 and sql.count("INSERT") == 2, sql
    assert Outbox.objects.filter(event=event).count() == 2  # the buyer's mail, the webhook
    assert Notification.objects.get(event=event).recipient == buyer


def test_a_kind_always_mailed_costs_no_query_for_email_choices(offer, seller, buyer_api):
    order_id = paid_order(buyer_api, offer)
    event = Event.objects.select_related("order").get(pk=last_transition(order_id).pk)
    Outbox.objects.filter(event=event).delete()
    Notification.objects.filter(event=event).delete()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        notifications_for_event(event, notice=transition_notice(Action.PAY, State.IN_PROGRESS))
    sql = [q["sql"].split()[0] for q in captured.captured_queries]
    assert sql.count("SELECT") == 1 and sql.count("INSERT") == 2, sql
    assert emails() == [(seller.pk, f"Order #{order_id} is paid")]


def test_a_silent_event_costs_only_the_webhook_query(offer, buyer, buyer_api):
    order = place(buyer_api, offer)
    event = Event.objects.select_related("order").get(order_id=order["id"], type="order.placed")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        notifications_for_event(event)
    assert len(captured.captured_queries) == 1
