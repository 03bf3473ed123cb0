"""E-mails written before notifications existed become their recipients' notifications, read,
of the kind their event has today, linking to their order's page."""

import importlib

from django.apps import apps

from handover.notifications.models import Channel, Notification, Outbox
from handover.testing.steps import deliver, ok, open_dispute, paid_order

fill = importlib.import_module(
    "handover.notifications.migrations.0002_notifications_and_email_choices"
).list_sent_emails


def test_sent_emails_become_read_notifications_of_their_kind(
    offer, buyer, seller, support, buyer_api, seller_api
):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Enjoy"}), 201)
    open_dispute(buyer_api, order_id)
    now = {n.pk: (n.recipient_id, n.kind, n.subject, n.body) for n in Notification.objects.all()}
    Outbox.objects.update(notification=None)
    Notification.objects.all().delete()  # as before notifications came

    fill(apps, None)

    emails = Outbox.objects.filter(channel=Channel.EMAIL).select_related("notification")
    assert emails.count() == len(now) == Notification.objects.count() == 5
    made = [(e, e.notification) for e in emails if e.notification is not None]
    assert sorted((n.recipient_id, n.kind, e.subject, e.body) for e, n in made) == sorted(
        now.values()
    )
    for email, note in made:
        assert note.read_at == email.created_at and note.path == f"/orders/{order_id}/"
    assert {n.kind for _, n in made} == {"money", "orders", "messages", "disputes"}
    assert fill(apps, None) is None and Notification.objects.count() == 5  # once only
