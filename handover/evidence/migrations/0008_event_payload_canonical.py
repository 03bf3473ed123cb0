from django.db import migrations, models

import handover.lib.canonical


class Migration(migrations.Migration):
    """The payload's encoder changes what is written, not the column: state only. (A schema
    change would make SQLite rebuild the table, and a rebuilt table loses its triggers.)"""

    dependencies = [
        ("evidence", "0007_sealed_values"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="payload",
                    field=models.JSONField(
                        default=dict, encoder=handover.lib.canonical.CanonicalJSONEncoder
                    ),
                ),
            ]
        )
    ]
