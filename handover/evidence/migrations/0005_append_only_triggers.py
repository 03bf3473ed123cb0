from django.db import migrations

from handover.evidence.triggers import create_all, drop_all

TABLES = (
    "evidence_event",
    "evidence_logentry",
    "evidence_treehead",
    "ledger_entry",
    "ledger_ledgertransaction",
    "orders_message",
)


def create(apps, schema_editor):
    create_all(schema_editor, TABLES)


def drop(apps, schema_editor):
    drop_all(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_chain_and_log"),
        ("ledger", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
