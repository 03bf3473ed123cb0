import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0006_support_notes_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="SealedValues",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="sealed",
                        serialize=False,
                        to="evidence.event",
                    ),
                ),
                ("salt", models.CharField(max_length=32)),
                ("values", models.JSONField()),
            ],
        ),
    ]
