# A refund in flight: the order's refunding account, and the refund the provider confirmed.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_transaction_reference"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="account",
            name="account_balance_non_negative",
        ),
        migrations.AlterField(
            model_name="account",
            name="kind",
            field=models.CharField(
                choices=[
                    ("world", "World"),
                    ("escrow", "Escrow"),
                    ("refunding", "Refunding"),
                    ("seller_pending", "Seller Pending"),
                    ("seller_available", "Seller Available"),
                    ("platform_fees", "Platform Fees"),
                    ("platform_losses", "Platform Losses"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="ledgertransaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("capture", "Capture"),
                    ("settlement", "Settlement"),
                    ("adjustment", "Adjustment"),
                    ("refund", "Refund"),
                    ("clearance", "Clearance"),
                    ("chargeback", "Chargeback"),
                    ("payout", "Payout"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("balance__gte", 0),
                    models.Q(
                        (
                            "kind__in",
                            (
                                "escrow",
                                "refunding",
                                "seller_pending",
                                "seller_available",
                                "platform_fees",
                            ),
                        ),
                        _negated=True,
                    ),
                    _connector="OR",
                ),
                name="account_balance_non_negative",
            ),
        ),
    ]
