# The refunds Handover asks the payment provider for, and what the provider answered.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orders", "0003_reference_attachments"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProviderRefund",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("provider", models.CharField(max_length=20)),
                ("amount", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("key", models.CharField(max_length=100, unique=True)),
                ("attempt_key", models.CharField(max_length=120)),
                ("reference", models.CharField(blank=True, db_index=True, max_length=255)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        max_length=16,
                    ),
                ),
                ("failure", models.CharField(blank=True, max_length=500)),
                ("failure_code", models.CharField(blank=True, max_length=100)),
                ("attempts", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="orders.order",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        fields=["state", "updated_at"], name="payments_pr_state_0ccf86_idx"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)), name="refund_amount_positive"
                    )
                ],
            },
        ),
    ]
