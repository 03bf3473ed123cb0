"""Fill the record counters from the orders, events and disputes already there, so that an
existing deployment's records read the same after the counters replace the queries.

The rules are copied as they stood when the counters came, not imported: a migration keeps
meaning what it meant when it ran."""

from collections import Counter, defaultdict

from django.db import migrations
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform

CLOSED = ("completed", "cancelled", "charged_back")


def _asker(action, actor, requester):
    """Who started a cancellation (orders.rules.cancellation_asker, as it was)."""
    if action == "decline_order":
        return "timer" if actor == "timer" else "seller"
    if action == "cancel_late":
        return "buyer"
    if action in ("accept_cancellation", "expire_cancellation"):
        return requester if requester in ("buyer", "seller") else "timer"
    if action == "decide":
        return "support"
    return None


def _ended(state, action, actor, requester, released):
    """The counters one paid order resting in a closed state adds to each party's record."""
    if state != "cancelled":
        return {state: 1}  # completed, charged_back: columns of the same name
    asker = _asker(action, actor, requester)
    if asker is None:
        return {}
    counts = {"cancellations_total": 1, f"cancellations_by_{asker}": 1}
    if action == "accept_cancellation":
        counts["cancellations_agreed"] = 1
    if released:
        counts["cancellations_after_release"] = 1
        if asker == "buyer":
            counts["cancellations_by_buyer_after_release"] = 1
    return counts


def _order_counts(apps, counts):
    Order = apps.get_model("orders", "Order")
    Event = apps.get_model("evidence", "Event")
    transitions = Event.objects.filter(order=OuterRef("pk"), type="order.transition")
    transitions = transitions.order_by("-id")
    cancelling = transitions.filter(payload__to="cancelled")
    requested = transitions.filter(payload__action="request_cancellation")
    released = Event.objects.filter(order=OuterRef("pk")).filter(
        Q(type="delivery.released_early")
        | Q(type="file.original_downloaded", actor_role="buyer")
        | Q(type="order.transition", payload__to="completed")
    )
    orders = (
        Order.objects.filter(state__in=CLOSED, paid_at__isnull=False)
        .annotate(
            action=Subquery(cancelling.values(value=KeyTextTransform("action", "payload"))[:1]),
            actor=Subquery(cancelling.values("actor_role")[:1]),
            requester=Subquery(requested.values("actor_role")[:1]),
            released=Exists(released),
        )
        .values_list("buyer_id", "seller_id", "state", "action", "actor", "requester", "released")
    )
    for buyer_id, seller_id, *how in orders.iterator():
        ended = _ended(*how)
        counts[(buyer_id, "buyer")].update(ended)
        counts[(seller_id, "seller")].update(ended)


def _dispute_counts(apps, counts):
    Dispute = apps.get_model("disputes", "Dispute")
    # What each outcome is for the buyer and for the seller.
    results = {"release": ("lost", "won"), "refund": ("won", "lost"), "split": ("split", "split")}
    rows = Dispute.objects.values_list(
        "order__buyer_id", "order__seller_id", "opened_by_id", "outcome"
    )
    for buyer_id, seller_id, opened_by_id, outcome in rows.iterator():
        parties = ((buyer_id, "buyer"), (seller_id, "seller"))
        for index, (user_id, role) in enumerate(parties):
            if opened_by_id == user_id:
                counts[(user_id, role)]["disputes_opened"] += 1
            if outcome in results:
                counts[(user_id, role)][f"disputes_{results[outcome][index]}"] += 1


def fill(apps, schema_editor):
    RoleCounts = apps.get_model("trust", "RoleCounts")
    counts = defaultdict(Counter)
    _order_counts(apps, counts)
    _dispute_counts(apps, counts)
    RoleCounts.objects.all().delete()
    RoleCounts.objects.bulk_create(
        RoleCounts(user_id=user_id, role=role, **{k: v for k, v in row.items() if v})
        for (user_id, role), row in counts.items()
        if any(row.values())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("trust", "0002_role_counts"),
        ("orders", "0002_order_preview_hold"),
        ("disputes", "0002_support_notes"),
        ("evidence", "0007_sealed_values"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
