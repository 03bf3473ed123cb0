import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0002_deliveries_plural"),
    ]

    operations = [
        # Files delivered before kinds existed are shown as name, size, type and hash.
        migrations.AddField(
            model_name="deliveryfile",
            name="kind",
            field=models.CharField(
                choices=[
                    ("image", "image"),
                    ("pdf", "pdf"),
                    ("audio", "audio"),
                    ("video", "video"),
                    ("text", "text"),
                    ("archive", "archive"),
                    ("other", "other"),
                ],
                default="other",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="deliveryfile",
            name="preview_state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("ready", "Ready"),
                    ("failed", "Failed"),
                    ("none", "None"),
                ],
                default="none",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="deliveryfile",
            name="preview_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="deliveryfile",
            name="preview_info",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.CreateModel(
            name="PreviewPart",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.PositiveSmallIntegerField()),
                ("storage_key", models.CharField(max_length=200, unique=True)),
                ("content_type", models.CharField(max_length=100)),
                ("size", models.PositiveBigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                (
                    "file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="preview_parts",
                        to="delivery.deliveryfile",
                    ),
                ),
            ],
            options={
                "ordering": ["file", "index"],
                "constraints": [
                    models.UniqueConstraint(fields=("file", "index"), name="preview_part_once")
                ],
            },
        ),
    ]
