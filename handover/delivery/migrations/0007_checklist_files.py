"""Each checklist item names the files that answer it. An item ticked before this named
none: it meant the delivery as a whole, so it gets every file of its delivery (what the
pages showed for it until now)."""

from django.db import migrations, models


def whole_deliveries(apps, schema_editor):
    ChecklistItem = apps.get_model("delivery", "ChecklistItem")
    DeliveryFile = apps.get_model("delivery", "DeliveryFile")
    Through = ChecklistItem.files.through
    items = ChecklistItem.objects.values_list("pk", "delivery_id").iterator()
    files = DeliveryFile.objects.values_list("delivery_id", "pk")
    by_delivery: dict[int, list[int]] = {}
    for delivery_id, file_id in files.iterator():
        by_delivery.setdefault(delivery_id, []).append(file_id)
    Through.objects.bulk_create(
        (
            Through(checklistitem_id=item_id, deliveryfile_id=file_id)
            for item_id, delivery_id in items
            for file_id in by_delivery.get(delivery_id, [])
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("delivery", "0006_preview_view_tally")]

    operations = [
        migrations.AddField(
            model_name="checklistitem",
            name="files",
            field=models.ManyToManyField(
                related_name="checklist_items", to="delivery.deliveryfile"
            ),
        ),
        migrations.RunPython(whole_deliveries, migrations.RunPython.noop),
    ]
