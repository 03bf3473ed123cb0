from django.db import migrations

from handover.evidence.triggers import create_all, drop_all


def create(apps, schema_editor):
    create_all(schema_editor)


def drop(apps, schema_editor):
    drop_all(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_chain_and_log"),
        ("ledger", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
