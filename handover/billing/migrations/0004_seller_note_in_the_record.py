"""The seller's note for the bank lives in the order's record (a ``chargeback.seller_note``
event each time it is set), not on the dispute's row: a note written before this is carried
into the record, as of now, before the column goes."""

from django.db import migrations
from django.utils import timezone

from handover.evidence.chain import event_body, event_hash


def carry_notes(apps, schema_editor):
    ProviderDispute = apps.get_model("billing", "ProviderDispute")
    Event = apps.get_model("evidence", "Event")
    for row in ProviderDispute.objects.exclude(seller_note="").select_related("order"):
        order = row.order
        head = Event.objects.filter(order_id=order.pk).order_by("-id").first()
        prev_hash = head.hash if head is not None else ""
        created_at = timezone.now()
        payload = {"reference": row.dispute_id, "note": row.seller_note}
        body = event_body(
            order_id=order.pk,
            type="chargeback.seller_note",
            actor_id=order.seller_id,
            actor_role="seller",
            created_at=created_at.isoformat(),
            payload=payload,
            prev_hash=prev_hash,
        )
        Event.objects.create(
            order_id=order.pk,
            type="chargeback.seller_note",
            actor_id=order.seller_id,
            actor_role="seller",
            created_at=created_at,
            payload=payload,
            body=body.decode(),
            prev_hash=prev_hash,
            hash=event_hash(body),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_provider_disputes"),
        ("evidence", "0014_chargeback_note_and_dispute_closed_events"),
    ]

    operations = [
        migrations.RunPython(carry_notes, migrations.RunPython.noop),
        migrations.RemoveField(model_name="providerdispute", name="seller_note"),
    ]
