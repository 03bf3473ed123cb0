from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0004_checklist"),
    ]

    operations = [
        migrations.AddField(
            model_name="deliveryfile",
            name="preview_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="deliveryfile",
            name="preview_lease_until",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
    ]
