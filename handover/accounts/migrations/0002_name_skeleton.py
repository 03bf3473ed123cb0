from django.db import migrations, models

from handover.accounts.rules import username_skeleton


def fill_skeletons(apps, schema_editor):
    """Each account's skeleton, oldest first. An account whose name already looks like an
    older one's keeps none: the older name is the one others could be imitating, and
    refusing the newer one now would lock its owner out of a name they use."""
    User = apps.get_model("accounts", "User")
    taken: set[str] = set()
    batch = []
    for user in User.objects.order_by("pk").only("pk", "username").iterator(chunk_size=2000):
        skeleton = username_skeleton(user.username)
        if skeleton in taken:
            continue
        taken.add(skeleton)
        user.name_skeleton = skeleton
        batch.append(user)
    User.objects.bulk_update(batch, ["name_skeleton"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="name_skeleton",
            field=models.CharField(editable=False, max_length=750, null=True, unique=True),
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
    ]
