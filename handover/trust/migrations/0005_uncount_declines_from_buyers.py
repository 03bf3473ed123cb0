"""A seller's decline of an order (or their acceptance window running out) is no
cancellation of the buyer's: take the declines 0003 and the services counted out of the
buyers' records. The sellers' records keep them.

The rule is copied as it stands, not imported: a migration keeps meaning what it meant
when it ran."""

from collections import Counter

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform


def _declines(apps) -> Counter:
    """(buyer id, "seller" or "timer"): how many of the buyer's paid orders were declined."""
    Order = apps.get_model("orders", "Order")
    Event = apps.get_model("evidence", "Event")
    cancelling = Event.objects.filter(
        order=OuterRef("pk"), type="order.transition", payload__to="cancelled"
    ).order_by("-id")
    rows = (
        Order.objects.filter(state="cancelled", paid_at__isnull=False)
        .annotate(
            action=Subquery(cancelling.values(value=KeyTextTransform("action", "payload"))[:1]),
            actor=Subquery(cancelling.values("actor_role")[:1]),
        )
        .filter(action="decline_order")
        .values_list("buyer_id", "actor")
    )
    return Counter(
        (buyer_id, "timer" if actor == "timer" else "seller") for buyer_id, actor in rows
    )


def uncount(apps, schema_editor):
    RoleCounts = apps.get_model("trust", "RoleCounts")
    for (buyer_id, asker), n in _declines(apps).items():
        row = RoleCounts.objects.filter(user_id=buyer_id, role="buyer").first()
        if row is None:
            continue
        by = f"cancellations_by_{asker}"
        taken = min(n, getattr(row, by), row.cancellations_total)
        setattr(row, by, getattr(row, by) - taken)
        row.cancellations_total -= taken
        row.save(update_fields=[by, "cancellations_total"])


def recount(apps, schema_editor):
    RoleCounts = apps.get_model("trust", "RoleCounts")
    for (buyer_id, asker), n in _declines(apps).items():
        row, _ = RoleCounts.objects.get_or_create(user_id=buyer_id, role="buyer")
        by = f"cancellations_by_{asker}"
        setattr(row, by, getattr(row, by) + n)
        row.cancellations_total += n
        row.save(update_fields=[by, "cancellations_total"])


class Migration(migrations.Migration):
    dependencies = [("trust", "0004_suspensions_and_warnings")]

    operations = [migrations.RunPython(uncount, recount)]
