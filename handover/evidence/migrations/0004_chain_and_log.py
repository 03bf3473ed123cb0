"""Hash chains per order, the Merkle log's leaves and signed tree heads. Events written before
this migration get their bodies and chain now, in the order they were written."""

import django.db.models.deletion
from django.db import migrations, models

from handover.evidence.chain import event_body, event_hash


def chain_existing(apps, schema_editor):
    Event = apps.get_model("evidence", "Event")
    last: dict[int | None, str] = {}
    for event in Event.objects.order_by("id").iterator(chunk_size=2000):
        prev = last.get(event.order_id, "") if event.order_id is not None else ""
        body = event_body(
            order_id=event.order_id,
            type=event.type,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            created_at=event.created_at.isoformat(),
            payload=event.payload,
            prev_hash=prev,
            version=1,  # the version of when this migration was written, whatever comes later
        )
        digest = event_hash(body, 1)
        # A queryset update: the model's save() refuses to touch a written event.
        Event.objects.filter(pk=event.pk).update(body=body.decode(), prev_hash=prev, hash=digest)
        if event.order_id is not None:
            last[event.order_id] = digest


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_trust_and_support_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="body",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="event",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="event",
            name="hash",
            field=models.CharField(db_index=True, max_length=64, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.CreateModel(
            name="LogEntry",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("leaf_hash", models.BinaryField(max_length=32)),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="log_entry",
                        to="evidence.event",
                    ),
                ),
            ],
            options={"ordering": ["seq"]},
        ),
        migrations.CreateModel(
            name="TreeHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("size", models.BigIntegerField(unique=True)),
                ("root", models.CharField(max_length=64)),
                ("signed_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=100)),
            ],
            options={"ordering": ["size"], "get_latest_by": "size"},
        ),
    ]
