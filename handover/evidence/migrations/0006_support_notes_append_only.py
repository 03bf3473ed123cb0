from django.db import migrations

from handover.evidence.triggers import create_all, drop_all

TABLES = ("disputes_supportnote",)


def create(apps, schema_editor):
    create_all(schema_editor, TABLES)


def drop(apps, schema_editor):
    drop_all(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0005_append_only_triggers"),
        ("disputes", "0002_support_notes"),
    ]

    operations = [migrations.RunPython(create, drop)]
